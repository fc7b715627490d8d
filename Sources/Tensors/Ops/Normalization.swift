/// Softmax along `axis`.
public func softmax(_ x: Tensor, axis: Int = -1) throws -> Tensor {
    let axis = axis < 0 ? axis + x.rank : axis
    guard axis >= 0, axis < x.rank else { throw TensorError("softmax: axis \(axis) out of range for \(x.shape)") }
    let x = try x.inLayout(.plain)
    let out = try Kernels.softmax(x, axis: axis)
    // The rule reads the output's values through a tensor off the tape: capturing `out` would make
    // `out` own the node that owns it, a cycle that keeps it and everything it came from alive for good.
    let y = out.detached()
    return Tensor.recorded(out, "softmax", [x]) { g in
        [try Kernels.softmaxBackward(y, g.plain, axis: axis)]
    }
}

/// Layer normalisation over the last axis: (x - mean) / sqrt(var + eps) * weight + bias, biased variance as PyTorch.
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float = 1e-5) throws -> Tensor {
    guard let c = x.shape.last, weight.shape == [c], bias.shape == [c] else {
        throw TensorError.shapes("layerNorm", [x, weight, bias], "weight and bias must have the size of the last axis")
    }
    let x = try x.inLayout(.plain)
    let (out, mean, variance) = try Kernels.layerNorm(x, weight, bias, eps: eps)
    return Tensor.recorded(out, "layerNorm", [x, weight, bias]) { g in
        let (gx, gw, gb) = try Kernels.layerNormBackward(x, weight, mean, variance, g.plain, eps: eps)
        return [gx, gw, gb]
    }
}
