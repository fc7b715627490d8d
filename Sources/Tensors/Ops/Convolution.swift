/// 2-D convolution (cross-correlation, as PyTorch's `conv2d`).
///
/// - Parameters:
///   - x: input, (N, C_in, H, W).
///   - weight: (C_out, C_in / groups, kH, kW).
///   - bias: (C_out), optional.
///   - stride, padding (zeros, both sides), dilation, groups: as in PyTorch; `groups == C_in == C_out` is depthwise.
/// - Returns: (N, C_out, H_out, W_out); on the fast path in the `blocked` layout when both channel counts are multiples of the block (f32), or `channelsLast` under bf16 (plain when C_out is 1).
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1) throws -> Tensor {
    let inputs = [x, weight] + (bias.map { [$0] } ?? [])
    guard x.rank == 4, weight.rank == 4 else { throw TensorError.shapes("conv2d", inputs, "input and weight must be 4-D") }
    guard groups >= 1, x.shape[1] % groups == 0, weight.shape[0] % groups == 0, weight.shape[1] * groups == x.shape[1] else {
        throw TensorError.shapes("conv2d", inputs, "input channels \(x.shape[1]) do not match weight \(weight.shape) with groups \(groups)")
    }
    if let bias, bias.shape != [weight.shape[0]] { throw TensorError.shapes("conv2d", inputs, "bias must have shape [\(weight.shape[0])]") }
    guard stride >= 1, dilation >= 1, padding >= 0 else { throw TensorError("conv2d: stride \(stride) and dilation \(dilation) must be >= 1, padding \(padding) >= 0") }
    let g = ConvGeometry(n: x.shape[0], cin: x.shape[1], h: x.shape[2], w: x.shape[3], cout: weight.shape[0],
                         kh: weight.shape[2], kw: weight.shape[3], stride: stride, padding: padding, dilation: dilation, groups: groups)
    guard g.outH > 0, g.outW > 0 else { throw TensorError.shapes("conv2d", inputs, "the kernel does not fit the padded input") }
    let out = try Kernels.conv2d(x, weight, bias, g)
    return Tensor.recorded(out, "conv2d", inputs) { gy in
        let gx = x.requiresGrad ? try Kernels.conv2dBackwardData(gy, weight, g, like: x) : nil
        var gw: Tensor?, gb: Tensor?
        if weight.requiresGrad || (bias?.requiresGrad ?? false) {
            (gw, gb) = try Kernels.conv2dBackwardWeights(gy, x, g, bias: bias != nil)
        }
        return [gx, gw] + (bias != nil ? [gb] : [])
    }
}
