/// What the networks of a configuration reach and hold at inference: how far an output pixel depends on
/// input pixels, and the working memory per input pixel. Tiled inference plans its tiles from these, so
/// they sit next to the architecture they describe.
extension SAVLConfig {
    /// How far (in LR pixels) an output pixel's value can depend on input pixels. The SR network's head
    /// conv and the encoder both read the input, and every block reads both, so the wider of the two
    /// starts the path; then 3x3 convs add one each (the spatial gate of a guided conv block one more,
    /// an attention block a window less one), and convs after upsampling a fraction.
    public var receptiveRadius: Int {
        let input = max(1, code == .none ? 0 : encoderReceptiveField / 2)
        let perBlock = blockKind == .conv ? 2 + (code == .none ? 0 : 1) : windowSize - 1
        let body = groups * (blocksPerGroup * perBlock + 1) + 1 + (features > 64 ? 1 : 0)
        let progressive = (scale == 4 ? 1 + 0.5 : 1) + 1 / Double(scale)
        let upsampling = upsampler == .direct ? 1 : Int(progressive.rounded(.up))
        return input + body + upsampling
    }

    /// Working memory of the whole model (encoder and SR network) per LR pixel of a tile, in bytes. With a
    /// progressive upsampler the widest activations are those of the last upsampling conv and its pixel
    /// shuffle, with their layout reorders: for a `small`-sized network at x4 this gives 14.5 KB, against a
    /// measured growth of peak RSS with tile area of 12.9 KB. With a direct upsampler the body's activations
    /// are the peak: 1.6 KB for `small` at x4, measured 1.5 KB (tiles of 128 and 384 px on a 1000x1000 photo).
    public var bytesPerTilePixel: Int {
        let u = min(features, 64), s2 = scale * scale
        if upsampler == .direct {
            return 4 * (4 * features + 3 * encoderFeatures + 2 * latentDim + 2 * 3 * s2)
        }
        let upsampling = 3 * u * s2 + 2 * u * s2 / 4 * (scale == 4 ? 1 : 0) + 4 * 3 * s2
        let body = 10 * features + 6 * encoderFeatures + 4 * latentDim
        let attention = blockKind == .attention ? heads * windowSize * windowSize * 2 + 6 * mlpRatio * features : 0
        return 4 * (upsampling + body + attention)
    }

    /// Working memory of the degradation encoder alone per LR pixel, in bytes: a few planes of its
    /// features and of the code.
    public var encoderBytesPerPixel: Int {
        4 * (4 * encoderFeatures + 3 * latentDim + 8)
    }
}
