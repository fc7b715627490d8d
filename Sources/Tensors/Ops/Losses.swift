private func checkSameShape(_ op: String, _ a: Tensor, _ b: Tensor) throws {
    guard a.shape == b.shape else { throw TensorError.shapes(op, [a, b], "prediction and target must have the same shape") }
}

/// Mean absolute error, mean(|prediction - target|).
public func l1Loss(_ prediction: Tensor, _ target: Tensor) throws -> Tensor {
    try checkSameShape("l1Loss", prediction, target)
    return try abs(prediction - target).mean()
}

/// Mean squared error, mean((prediction - target)^2).
public func mseLoss(_ prediction: Tensor, _ target: Tensor) throws -> Tensor {
    try checkSameShape("mseLoss", prediction, target)
    let d = try prediction - target
    return try (d * d).mean()
}

/// Charbonnier loss, mean(sqrt((prediction - target)^2 + eps^2)), a smooth L1.
public func charbonnierLoss(_ prediction: Tensor, _ target: Tensor, eps: Float = 1e-3) throws -> Tensor {
    try checkSameShape("charbonnierLoss", prediction, target)
    let d = try prediction - target
    return try sqrt(d * d + eps * eps).mean()
}
