import CDNNL
import COpenBLAS
import Foundation
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

    /// The backend, e.g. `oneDNN 2.6.3 on CPU (avx2), 2 threads`.
    static var description: String {
        let v = dnnl_version().pointee
        let isa: String
        switch dnnl_get_effective_cpu_isa() {
        case dnnl_cpu_isa_avx512_core_amx: isa = "avx512 amx"
        case dnnl_cpu_isa_avx512_core_bf16, dnnl_cpu_isa_avx512_core_vnni, dnnl_cpu_isa_avx512_core: isa = "avx512"
        case dnnl_cpu_isa_avx2_vnni, dnnl_cpu_isa_avx2: isa = "avx2"
        case dnnl_cpu_isa_avx: isa = "avx"
        default: isa = "sse4.1"
        }
        return "oneDNN \(v.major).\(v.minor).\(v.patch) on CPU (\(isa)), \(threads) thread\(threads == 1 ? "" : "s")"
    }

    private static func openMP<F>(_ name: String, as type: F.Type) -> F? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(symbol, to: type)
    }
}
