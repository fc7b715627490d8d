import ArgumentParser
import COpenBLAS
import Foundation
import Tensors
#if canImport(Glibc)
import Glibc
#endif

/// The compute threads and backend of this process.
///
/// oneDNN runs on OpenMP (libgomp), which reads `OMP_NUM_THREADS` once, when it is loaded at process
/// start; so `--threads` calls `omp_set_num_threads` (found at run time, as savl does not link OpenMP
/// itself) and `openblas_set_num_threads`, and also sets the variable for child processes.
enum ComputeRuntime {
    /// Uses `count` threads for the tensor operations that follow (on the calling thread).
    static func setThreads(_ count: Int) {
        setenv("OMP_NUM_THREADS", String(count), 1)
        if let set = openMP("omp_set_num_threads", as: (@convention(c) (Int32) -> Void).self) { set(Int32(count)) }
        openblas_set_num_threads(Int32(count))
    }

    /// The threads oneDNN uses.
    static var threads: Int {
        if let get = openMP("omp_get_max_threads", as: (@convention(c) () -> Int32).self) { return Int(get()) }
        return ProcessInfo.processInfo.activeProcessorCount
    }

    /// The backend, e.g. `oneDNN 2.6.3 on CPU (avx2), 2 threads, f32`: the last word is the precision in use.
    static var description: String {
        "oneDNN \(Engine.version) on CPU (\(Engine.cpuISA)), \(threads) thread\(threads == 1 ? "" : "s"), \(Engine.precision)"
    }

    /// Uses `precision` (`--precision`) for the tensor operations that follow, on every thread.
    /// Fails with a message naming the CPU's instruction set when bf16 cannot run here.
    static func setPrecision(_ precision: Precision) throws {
        try Engine.setPrecision(precision)
    }

    private static func openMP<F>(_ name: String, as type: F.Type) -> F? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(symbol, to: type)
    }
}

/// The engine's precision, visible to every command's file (not all of them import Tensors).
typealias Precision = Tensors.Precision

extension Precision: ExpressibleByArgument {
    /// The help text of `--precision`, shared by the commands that take it.
    static let help = ArgumentHelp(
        "Arithmetic of convolutions and matrix products: f32, bf16 (mixed precision: bf16 inputs, f32 accumulation, weights and outputs; needs AMX or avx512_core_bf16) or auto (bf16 where the CPU has AMX, else f32). Default f32: bf16 becomes the default where it has been measured on AMX.")
}
