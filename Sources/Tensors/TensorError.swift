/// An error from a tensor operation, naming the operation and the shapes involved.
public struct TensorError: Error, CustomStringConvertible, Equatable {
    /// What went wrong, with the operation name and shapes.
    public let message: String

    /// Creates an error with a message.
    public init(_ message: String) { self.message = message }

    public var description: String { message }

    static func shapes(_ op: String, _ tensors: [Tensor], _ reason: String) -> TensorError {
        let list = tensors.map { "\($0.shape)" }.joined(separator: " and ")
        return TensorError("\(op): \(reason) (shapes \(list))")
    }
}
