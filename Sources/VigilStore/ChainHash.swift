import Crypto

/// The hashes that bind each entry into the log (docs/protocol.md §3).
///
/// Entry bytes are position (8 bytes, big-endian) || recordedAt (Unix microseconds, 8 bytes, big-endian) ||
/// envelope bytes. `leafHash = SHA-256(0x00 || entry)`, the RFC 9162 leaf hash, and
/// `chainHash(n) = SHA-256(chainHash(n-1) || leafHash(n))` with `chainHash(0)` all zeros.
package enum ChainHash {
    package static let zero = [UInt8](repeating: 0, count: 32)

    package static func leafHash(position: Int64, recordedAt: Int64, envelope: some Collection<UInt8>) -> [UInt8] {
        var prefix = [UInt8](repeating: 0, count: 17)
        for i in 0..<8 {
            prefix[1 + i] = UInt8(truncatingIfNeeded: UInt64(bitPattern: position) >> (56 - 8 * UInt64(i)))
            prefix[9 + i] = UInt8(truncatingIfNeeded: UInt64(bitPattern: recordedAt) >> (56 - 8 * UInt64(i)))
        }
        var hasher = SHA256()
        hasher.update(data: prefix)
        let hashedInPlace: Void? = envelope.withContiguousStorageIfAvailable {
            hasher.update(bufferPointer: UnsafeRawBufferPointer($0))
        }
        if hashedInPlace == nil { hasher.update(data: Array(envelope)) }
        return hasher.finalize().withUnsafeBytes { Array($0) }
    }

    package static func chainHash(previous: [UInt8], leaf: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        hasher.update(data: leaf)
        return hasher.finalize().withUnsafeBytes { Array($0) }
    }
}
