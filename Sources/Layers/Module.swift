import Tensors

/// A learnable tensor owned by a module. Optimizers update `value` in place.
public final class Parameter {
    /// The current value, a leaf that requires gradients while the parameter is trainable.
    public private(set) var value: Tensor
    /// Whether optimizers update it and gradients flow to it.
    public var trainable: Bool {
        didSet { value = value.requiringGrad(trainable) }
    }

    /// Wraps a tensor as a trainable parameter.
    public init(_ value: Tensor, trainable: Bool = true) {
        self.value = value.requiringGrad(trainable)
        self.trainable = trainable
    }

    /// Sets every value to zero (e.g. the last layer of a residual branch, which then starts as nothing).
    public func zero() {
        value = Tensor.zeros(value.shape).requiringGrad(trainable)
    }

    /// Replaces the value (e.g. when loading weights); the shape must not change.
    public func load(_ tensor: Tensor, name: String) throws {
        guard tensor.shape == value.shape else {
            throw TensorError("parameter '\(name)': expected shape \(value.shape), got \(tensor.shape)")
        }
        value = Tensor(shape: tensor.shape, values: tensor.values, requiresGrad: trainable)
    }
}

/// The base of every layer and network.
///
/// Parameters and sub-modules are plain stored properties; their property names, joined by dots,
/// are the parameter names (`body.0.conv1.weight`), so weights load by name from PyTorch state dicts.
/// Arrays of modules are numbered from 0. Subclasses define `callAsFunction`.
///
/// ```swift
/// final class Block: Module {
///     let conv1 = Conv2d(64, 64, kernel: 3, padding: 1, rng: &rng)
///     let conv2 = Conv2d(64, 64, kernel: 3, padding: 1, rng: &rng)
///     func callAsFunction(_ x: Tensor) throws -> Tensor { try x + conv2(relu(conv1(x))) }
/// }
/// ```
open class Module {
    /// Training mode (true) or evaluation mode; some modules behave differently.
    public private(set) var isTraining = true

    public init() {}

    /// Direct children: (name, value) for every stored property that is a parameter or module,
    /// or an array of modules.
    private var members: [(String, Any)] {
        var out: [(String, Any)] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        var chain: [Mirror] = []
        while let m = mirror { chain.append(m); mirror = m.superclassMirror }
        for m in chain.reversed() {
            for child in m.children {
                guard let label = child.label else { continue }
                let name = label.hasPrefix("_") ? String(label.dropFirst()) : label
                if child.value is Parameter || child.value is Module {
                    out.append((name, child.value))
                } else if let list = child.value as? [Module] {
                    for (i, module) in list.enumerated() { out.append(("\(name).\(i)", module)) }
                } else if let optional = child.value as? Module? , let module = optional {
                    out.append((name, module))
                } else if let optional = child.value as? Parameter?, let parameter = optional {
                    out.append((name, parameter))
                }
            }
        }
        return out
    }

    /// Every parameter with its dotted name, in declaration order.
    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        var out: [(String, Parameter)] = []
        for (name, value) in members {
            if let p = value as? Parameter { out.append((name, p)) }
            if let m = value as? Module { out += m.namedParameters().map { ("\(name).\($0.name)", $0.parameter) } }
        }
        return out
    }

    /// Every sub-module with its dotted name (not including this one).
    public func namedModules() -> [(name: String, module: Module)] {
        var out: [(String, Module)] = []
        for (name, value) in members {
            guard let m = value as? Module else { continue }
            out.append((name, m))
            out += m.namedModules().map { ("\(name).\($0.name)", $0.module) }
        }
        return out
    }

    /// The trainable parameters.
    public var trainableParameters: [Parameter] { namedParameters().map(\.parameter).filter(\.trainable) }

    /// The number of parameter values.
    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.parameter.value.count } }

    /// Sets training or evaluation mode on this module and all sub-modules.
    public func train(_ on: Bool = true) {
        isTraining = on
        for (_, m) in namedModules() { m.isTraining = on }
    }

    /// Evaluation mode.
    public func eval() { train(false) }

    /// Marks every parameter as frozen (not trainable) or trainable again.
    public func freeze(_ frozen: Bool = true) {
        for (_, p) in namedParameters() { p.trainable = !frozen }
    }

    /// The parameter values by dotted name.
    public func stateDict() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: namedParameters().map { ($0.name, $0.parameter.value.detached()) })
    }

    /// Loads parameter values by dotted name. With `strict`, a missing or unexpected name is an error.
    public func load(stateDict: [String: Tensor], strict: Bool = true) throws {
        let named = namedParameters()
        if strict {
            let expected = Set(named.map(\.name))
            if let missing = named.first(where: { stateDict[$0.name] == nil }) {
                throw TensorError("missing tensor '\(missing.name)' (shape \(missing.parameter.value.shape))")
            }
            if let extra = stateDict.keys.sorted().first(where: { !expected.contains($0) }) {
                throw TensorError("unexpected tensor '\(extra)' (shape \(stateDict[extra]!.shape)): the model has no such parameter")
            }
        }
        for (name, p) in named {
            if let t = stateDict[name] { try p.load(t, name: name) }
        }
    }

    /// Clears the gradients of all parameters.
    public func zeroGrad() {
        for (_, p) in namedParameters() { p.value.zeroGrad() }
    }
}

/// A module that maps one tensor to one tensor.
public protocol UnaryLayer: Module {
    func callAsFunction(_ x: Tensor) throws -> Tensor
}
