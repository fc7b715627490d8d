import CMPI
import Foundation

/// Starts the communicator of this process: Open MPI when a launcher started it, else a single process.
public enum Communicators {
    /// The environment variables by which a launcher announces an MPI job: Open MPI's `mpirun`
    /// (`OMPI_COMM_WORLD_SIZE`), PMIx (`srun --mpi=pmix`, `PMIX_RANK`) and PMI-2 (`srun --mpi=pmi2`, `PMI_RANK`).
    public static let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"]

    /// The library opened under a launcher; `SAVL_MPI_LIBRARY` overrides it.
    public static let defaultLibrary = "libmpi.so.40"

    /// Whether `environment` says a launcher started this process (and `SAVL_MPI` is not `0`).
    public static func launched(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        if environment["SAVL_MPI"] == "0" { return false }
        return launcherVariables.contains { environment[$0] != nil }
    }

    /// `MPICommunicator` when a launcher started the process, else `SingleProcess`. The MPI library is
    /// opened only in the first case, so a machine without Open MPI runs savl as before.
    /// Throws when a launcher started the process but the library cannot be loaded or initialised.
    public static func start(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Communicator {
        guard launched(environment: environment) else { return SingleProcess() }
        return try MPICommunicator(library: environment["SAVL_MPI_LIBRARY"] ?? defaultLibrary)
    }
}

/// Open MPI's `MPI_COMM_WORLD`, through the library loaded at run time (see `CMPI`).
///
/// Errors of the library are fatal for the whole job (MPI's default handler, `MPI_ERRORS_ARE_FATAL`):
/// a rank that dies makes the launcher end the others instead of leaving them waiting.
public final class MPICommunicator: Communicator {
    private var api = savl_mpi_api()
    public let rank: Int
    public let size: Int
    public let description: String
    /// Whether the library allows MPI calls from several threads at once (`MPI_THREAD_MULTIPLE`).
    public let threadMultiple: Bool
    private var finalized = false

    /// Loads `library` and initialises MPI.
    public init(library: String) throws {
        if let reason = savl_mpi_load(library, &api) {
            throw CollectiveError("started by an MPI launcher, but \(library) cannot be loaded: \(String(cString: reason)) "
                                  + "(install Open MPI: apt-get install openmpi-bin libopenmpi3; or set SAVL_MPI_LIBRARY to its libmpi.so)")
        }
        var provided: Int32 = 0
        let status = api.init_thread(nil, nil, Int32(MPI_THREAD_MULTIPLE), &provided)
        guard status == MPI_SUCCESS else { throw CollectiveError("MPI_Init_thread failed with status \(status)") }
        threadMultiple = provided >= Int32(MPI_THREAD_MULTIPLE)
        var value: Int32 = 0
        _ = api.comm_rank(api.comm_world, &value)
        rank = Int(value)
        _ = api.comm_size(api.comm_world, &value)
        size = Int(value)
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_LIBRARY_VERSION_STRING) + 1)
        var length: Int32 = 0
        _ = api.library_version(&text, &length)
        let version = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        description = version.split(separator: ",").first.map(String.init) ?? "MPI"
    }

    deinit { finalize() }

    public func barrier() throws { try check(api.barrier(api.comm_world), "MPI_Barrier") }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        try checkRank(root, "broadcast")
        var offset = 0
        while offset < buffer.count {   // counts are Int32: large buffers go in pieces
            let n = min(buffer.count - offset, 1 << 30)
            try check(api.bcast(buffer.baseAddress! + offset, Int32(n), api.byte_type, Int32(root), api.comm_world), "MPI_Bcast")
            offset += n
        }
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try allreduce(UnsafeMutableRawPointer(buffer.baseAddress), buffer.count, MemoryLayout<Float>.size, api.float_type, api.sum)
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try allreduce(UnsafeMutableRawPointer(buffer.baseAddress), buffer.count, MemoryLayout<Double>.size, api.double_type, api.sum)
    }

    public func allreduceMax(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try allreduce(UnsafeMutableRawPointer(buffer.baseAddress), buffer.count, MemoryLayout<Double>.size, api.double_type, api.max)
    }

    public func send(_ values: [Int32], to destination: Int, tag: Int) throws {
        try checkRank(destination, "send")
        try values.withUnsafeBufferPointer {
            try check(api.send($0.baseAddress, Int32($0.count), api.int_type, Int32(destination), Int32(tag), api.comm_world), "MPI_Send")
        }
    }

    public func receive(count: Int, from source: Int?, tag: Int) throws -> (values: [Int32], source: Int) {
        if let source { try checkRank(source, "receive") }
        var values = [Int32](repeating: 0, count: count)
        var status = MPI_Status()
        try values.withUnsafeMutableBufferPointer {
            try check(api.recv($0.baseAddress, Int32(count), api.int_type, Int32(source ?? Int(MPI_ANY_SOURCE)), Int32(tag),
                               api.comm_world, &status), "MPI_Recv")
        }
        return (values, Int(status.MPI_SOURCE))
    }

    /// Whether a message with `tag` from any rank is waiting (MPI_Iprobe).
    public func hasMessage(tag: Int) throws -> Bool {
        var flag: Int32 = 0
        var status = MPI_Status()
        try check(api.iprobe(Int32(MPI_ANY_SOURCE), Int32(tag), api.comm_world, &flag, &status), "MPI_Iprobe")
        return flag != 0
    }

    public func abort(status: Int32) -> Never {
        _ = api.abort(api.comm_world, status)
        exit(status)
    }

    public func finalize() {
        guard !finalized else { return }
        finalized = true
        _ = api.finalize()
    }

    private func allreduce(_ pointer: UnsafeMutableRawPointer?, _ count: Int, _ stride: Int, _ type: MPI_Datatype?, _ op: MPI_Op?) throws {
        guard size > 1, count > 0, let pointer else { return }
        var offset = 0
        while offset < count {
            let n = min(count - offset, 1 << 28)
            try check(api.allreduce(savl_mpi_in_place(), pointer + offset * stride, Int32(n), type, op, api.comm_world), "MPI_Allreduce")
            offset += n
        }
    }

    private func checkRank(_ other: Int, _ operation: String) throws {
        guard (0..<size).contains(other) else { throw CollectiveError("\(operation): rank \(other) is not in 0..<\(size)") }
    }

    private func check(_ status: Int32, _ operation: String) throws {
        guard status != MPI_SUCCESS else { return }
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        _ = api.error_string(status, &text, &length)
        throw CollectiveError("\(operation) on rank \(rank) failed: \(String(cString: text))")
    }
}
