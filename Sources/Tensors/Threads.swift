import COpenBLAS
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The compute threads of this process, and the line that reports the backend.
///
/// oneDNN runs on OpenMP (libgomp), which reads `OMP_NUM_THREADS` once, when it is loaded at process
/// start; so `setThreads` calls `omp_set_num_threads` (found at run time, as savl does not link OpenMP
/// itself) and `openblas_set_num_threads`, and also sets the variable for child processes.
extension Engine {
    /// Uses `count` threads for the tensor operations that follow (on the calling thread).
    public static func setThreads(_ count: Int) {
        setenv("OMP_NUM_THREADS", String(count), 1)
        if let set = openMP("omp_set_num_threads", as: (@convention(c) (Int32) -> Void).self) { set(Int32(count)) }
        openblas_set_num_threads(Int32(count))
    }

    /// The threads oneDNN uses.
    public static var threads: Int {
        if let get = openMP("omp_get_max_threads", as: (@convention(c) () -> Int32).self) { return Int(get()) }
        return ProcessInfo.processInfo.activeProcessorCount
    }

    /// The backend, e.g. `oneDNN 2.6.3 on CPU (avx2), 2 threads, f32`: the last word is the precision in use.
    public static var backendDescription: String {
        "oneDNN \(version) on CPU (\(cpuISA)), \(threads) thread\(threads == 1 ? "" : "s"), \(precision)"
    }

    private static func openMP<F>(_ name: String, as type: F.Type) -> F? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(symbol, to: type)
    }
}
