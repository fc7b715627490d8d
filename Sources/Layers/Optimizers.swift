import Foundation
import Tensors

/// Adam (Kingma and Ba) as PyTorch's `torch.optim.Adam`, or AdamW with `decoupledWeightDecay`.
///
/// ```swift
/// let opt = Adam(learningRate: 2e-4, beta2: 0.99)
/// try loss.backward()
/// try opt.step(model.trainableParameters)
/// model.zeroGrad()
/// ```
public final class Adam {
    /// The learning rate of the next step (a schedule may change it between steps).
    public var learningRate: Float
    public let beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    /// AdamW (weights shrink by lr * wd each step) instead of L2 added to the gradient.
    public let decoupledWeightDecay: Bool
    /// Steps taken so far.
    public private(set) var stepCount = 0
    private var moments: [ObjectIdentifier: (m: Tensor, v: Tensor)] = [:]

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
                weightDecay: Float = 0, decoupledWeightDecay: Bool = false) {
        self.learningRate = learningRate
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    /// AdamW with PyTorch's default weight decay of 0.01.
    public static func adamW(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01) -> Adam {
        Adam(learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    /// Updates every trainable parameter that has a gradient.
    public func step(_ parameters: [Parameter]) throws {
        stepCount += 1
        for p in parameters where p.trainable {
            guard let g = p.value.grad else { continue }
            let key = ObjectIdentifier(p)
            let state = moments[key] ?? (Tensor.zeros(p.value.shape), Tensor.zeros(p.value.shape))
            moments[key] = state
            try update(p.value, grad: g, m: state.m, v: state.v)
        }
    }

    /// One Adam step on parameter `p` with gradient `grad` and moments `m`, `v` (all updated in place).
    ///
    /// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
    /// `weightDecay` is added to the gradient (Adam, L2) or, when decoupled, applied as p *= 1 - lr wd (AdamW).
    /// Everything is f32, whatever the engine's precision: the parameters are the master copy.
    private func update(_ p: Tensor, grad: Tensor, m: Tensor, v: Tensor) throws {
        let grad = grad.layout == p.layout ? grad : try grad.detached().inLayout(p.layout)
        let t = stepCount, lr = learningRate, beta1 = beta1, beta2 = beta2, eps = eps
        let c1 = 1 - Float(Foundation.pow(Double(beta1), Double(t))), c2 = 1 - Float(Foundation.pow(Double(beta2), Double(t)))
        let stepSize = lr / c1, invSqrtC2 = 1 / c2.squareRoot()
        let shrink: Float = decoupledWeightDecay ? 1 - lr * weightDecay : 1
        let l2: Float = decoupledWeightDecay ? 0 : weightDecay
        try p.updateInPlace("adamStep", with: [grad, m, v]) { values, others in
            let p = values.baseAddress!, gp = others[0].baseAddress!, mp = others[1].baseAddress!, vp = others[2].baseAddress!
            for i in 0..<values.count {
                let gi = gp[i] + l2 * p[i]
                mp[i] = beta1 * mp[i] + (1 - beta1) * gi
                vp[i] = beta2 * vp[i] + (1 - beta2) * gi * gi
                p[i] = p[i] * shrink - stepSize * mp[i] / (vp[i].squareRoot() * invSqrtC2 + eps)
            }
        }
    }

    /// The optimizer state by parameter name (`exp_avg.NAME`, `exp_avg_sq.NAME`, and `step`), for checkpoints.
    public func stateDict(_ named: [(name: String, parameter: Parameter)]) -> [String: Tensor] {
        var out: [String: Tensor] = ["step": Tensor(Float(stepCount))]
        for (name, p) in named {
            guard let s = moments[ObjectIdentifier(p)] else { continue }
            out["exp_avg.\(name)"] = s.m
            out["exp_avg_sq.\(name)"] = s.v
        }
        return out
    }

    /// Restores state saved by `stateDict`.
    public func load(stateDict: [String: Tensor], _ named: [(name: String, parameter: Parameter)]) throws {
        guard let step = stateDict["step"] else { throw TensorError("optimizer state: missing 'step'") }
        stepCount = Int(try step.item())
        moments = [:]
        for (name, p) in named {
            guard let m = stateDict["exp_avg.\(name)"], let v = stateDict["exp_avg_sq.\(name)"] else { continue }
            guard m.shape == p.value.shape, v.shape == p.value.shape else {
                throw TensorError("optimizer state for '\(name)': shape \(m.shape), expected \(p.value.shape)")
            }
            moments[ObjectIdentifier(p)] = (Tensor(shape: m.shape, values: m.values), Tensor(shape: v.shape, values: v.values))
        }
    }
}

/// Scales all gradients so their global L2 norm is at most `maxNorm`; returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maxNorm: Float) -> Float {
    let grads = parameters.compactMap { $0.value.grad }
    let norm = Float(grads.reduce(0.0) { $0 + $1.squaredNorm() }.squareRoot())
    if norm > maxNorm {
        let factor = maxNorm / (norm + 1e-6)
        grads.forEach { $0.scale(by: factor) }
    }
    return norm
}

/// A learning rate as a function of the step (0-based).
public protocol LearningRateSchedule: Sendable {
    func callAsFunction(_ step: Int) -> Float
}

/// Linear warm-up from 0, then cosine decay from `base` to `minimum` at `totalSteps`.
public struct CosineSchedule: LearningRateSchedule {
    public var base: Float, warmupSteps: Int, totalSteps: Int, minimum: Float

    public init(base: Float, warmupSteps: Int = 0, totalSteps: Int, minimum: Float = 0) {
        self.base = base; self.warmupSteps = warmupSteps; self.totalSteps = totalSteps; self.minimum = minimum
    }

    public func callAsFunction(_ step: Int) -> Float {
        if step < warmupSteps { return base * Float(step + 1) / Float(warmupSteps) }
        let span = max(totalSteps - warmupSteps, 1)
        let t = min(Double(step - warmupSteps) / Double(span), 1)
        return minimum + (base - minimum) * Float(0.5 * (1 + cos(Double.pi * t)))
    }
}

/// `base` multiplied by `gamma` at each milestone step passed.
public struct StepSchedule: LearningRateSchedule {
    public var base: Float, milestones: [Int], gamma: Float

    public init(base: Float, milestones: [Int], gamma: Float = 0.5) {
        self.base = base; self.milestones = milestones; self.gamma = gamma
    }

    public func callAsFunction(_ step: Int) -> Float {
        base * Float(Foundation.pow(Double(gamma), Double(milestones.filter { step >= $0 }.count)))
    }
}

/// An exponential moving average of a module's parameters (`shadow = decay * shadow + (1 - decay) * value`).
public final class ExponentialMovingAverage {
    public let decay: Float
    /// The averaged values by parameter name.
    public private(set) var shadow: [String: Tensor]
    private let module: Module

    /// Starts the average at the module's current values.
    public init(_ module: Module, decay: Float = 0.999) {
        self.module = module
        self.decay = decay
        shadow = Dictionary(uniqueKeysWithValues: module.namedParameters().map {
            ($0.name, Tensor(shape: $0.parameter.value.shape, values: $0.parameter.value.values))
        })
    }

    /// Moves the average toward the module's current values, by `decay` unless the step gives another.
    public func update(decay stepDecay: Float? = nil) throws {
        for (name, p) in module.namedParameters() {
            try shadow[name]?.blend(toward: p.value, decay: stepDecay ?? decay)
        }
    }

    /// The decay with warm-up for update number `t` (from 0): min(decay, (1 + t) / (10 + t)), so that
    /// the average of a short run holds its recent weights rather than its initial ones (the warm-up of
    /// TensorFlow's `ExponentialMovingAverage` with `num_updates`); it reaches `decay` = 0.999 at t = 8,990.
    public func warmedUpDecay(step t: Int) -> Float {
        min(decay, Float(1 + t) / Float(10 + t))
    }

    /// Replaces the average (e.g. from a checkpoint); names and shapes must match the module.
    public func load(_ values: [String: Tensor]) throws {
        for (name, p) in module.namedParameters() {
            guard let v = values[name] else { throw TensorError("EMA state: missing tensor '\(name)'") }
            guard v.shape == p.value.shape else { throw TensorError("EMA state: tensor '\(name)' has shape \(v.shape), expected \(p.value.shape)") }
            shadow[name] = Tensor(shape: v.shape, values: v.values)
        }
    }
}
