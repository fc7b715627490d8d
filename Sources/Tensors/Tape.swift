import Foundation

/// How a tensor was made: its inputs and the rule that turns the output's gradient into theirs.
final class Node {
    let name: String
    let inputs: [Tensor]
    /// Given the gradient of the output, the gradients of the inputs (nil where none is needed).
    let backward: (Tensor) throws -> [Tensor?]

    init(_ name: String, _ inputs: [Tensor], _ backward: @escaping (Tensor) throws -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}

/// Whether operations are recorded for backward (per thread).
public enum GradMode {
    private static let key = "savl.Tensors.GradMode.disabled"

    /// True unless inside `withoutGrad`.
    public static var isEnabled: Bool {
        Thread.current.threadDictionary[key] == nil
    }

    /// Runs `body` without recording operations: for inference and for optimizer updates.
    public static func withoutGrad<T>(_ body: () throws -> T) rethrows -> T {
        let dict = Thread.current.threadDictionary
        let previous = dict[key]
        dict[key] = true
        defer { dict[key] = previous }
        return try body()
    }
}

extension Tensor {
    /// Makes the result of an operation, attaching `backward` when any input requires gradients.
    static func recorded(_ result: Tensor, _ name: String, _ inputs: [Tensor], _ backward: @escaping (Tensor) throws -> [Tensor?]) -> Tensor {
        if GradMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) {
            result.requiresGrad = true
            result.node = Node(name, inputs, backward)
        }
        return result
    }

    /// Computes the gradient of this scalar with respect to every leaf that requires gradients,
    /// accumulating into their `grad` (a tensor used twice receives the sum of both paths).
    public func backward() throws {
        guard count == 1 else { throw TensorError("backward(): called on a tensor of shape \(shape); it needs a scalar (one element)") }
        guard requiresGrad else { throw TensorError("backward(): the tensor of shape \(shape) does not depend on any tensor that requires gradients") }
        let order = topologicalOrder()
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): Tensor.full(shape, 1)]
        for t in order.reversed() {
            guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else { continue }
            guard let node = t.node else {
                let g = Kernels.reorder(g, to: t.layout)
                t.grad = try t.grad.map { try Kernels.accumulate($0, g) } ?? g
                continue
            }
            let inputGrads = try node.backward(g)
            for (input, ig) in zip(node.inputs, inputGrads) {
                guard input.requiresGrad, let ig else { continue }
                guard ig.shape == input.shape else {
                    throw TensorError("backward of \(node.name): gradient shape \(ig.shape) does not match input shape \(input.shape)")
                }
                let key = ObjectIdentifier(input)
                grads[key] = try grads[key].map { try Kernels.accumulate($0, ig) } ?? ig
            }
        }
    }

    /// Clears the accumulated gradient.
    public func zeroGrad() { grad = nil }

    /// Tensors reachable from this one through recorded nodes, inputs before outputs.
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            guard visited.insert(ObjectIdentifier(t)).inserted else { continue }
            stack.append((t, true))
            for input in t.node?.inputs ?? [] where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        return order
    }
}

/// The gradients of a scalar `loss` with respect to `inputs`, without touching their `grad`.
///
/// Throws when an input is not on the tape that produced `loss`.
public func gradients(of loss: Tensor, with inputs: [Tensor]) throws -> [Tensor] {
    let saved = inputs.map { $0.grad }
    inputs.forEach { $0.grad = nil }
    defer { for (t, g) in zip(inputs, saved) { t.grad = g } }
    try loss.backward()
    return try inputs.map { t in
        guard let g = t.grad else {
            throw TensorError("gradients(of:with:): a tensor of shape \(t.shape) is not on the tape that produced the loss")
        }
        return g
    }
}
