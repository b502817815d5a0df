import VigilModel

// A libFuzzer target over envelope and event decoding: scripts/fuzz builds it with -sanitize=fuzzer.
//
// Beyond "never crash", it checks the decoders' invariants on every input they accept: what decodes
// re-encodes to something that decodes to the same value, with the same bytes.

#if VIGIL_FUZZ
    /// libFuzzer's entry point for programs that keep their own `main` (SwiftPM gives every executable one).
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    @main
    enum VigilFuzz {
        static func main() {
            var argc = CommandLine.argc
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
            let status = LLVMFuzzerRunDriver(&argc, &argv) { start, count in
                let bytes = count == 0 ? [] : Array(UnsafeBufferPointer(start: start, count: count))
                FuzzChecks.run(bytes)
                return 0
            }
            exit(status)
        }
    }
#else
    @main
    enum VigilFuzzHelp {
        static func main() {
            print("vigil-fuzz is a libFuzzer target; build and run it with scripts/fuzz.")
            // Without libFuzzer, check the invariants once on each file given, so the target stays tested.
            for path in CommandLine.arguments.dropFirst() {
                guard let file = fopen(path, "rb") else { continue }
                var bytes: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let read = fread(&buffer, 1, buffer.count, file)
                    if read <= 0 { break }
                    bytes += buffer[0..<read]
                }
                fclose(file)
                FuzzChecks.run(bytes)
            }
        }
    }
#endif

enum FuzzChecks {
    static let context = ValidationContext(
        limits: .default, now: Timestamp(microsecondsSinceEpoch: 1_795_256_100_000_000))

    static func run(_ bytes: [UInt8]) {
        if let value = try? JSONParser.parse(bytes) {
            let again = JSONWriter.bytes(value)
            precondition((try? JSONParser.parse(again)) == value, "JSON did not round-trip")
        }
        _ = try? JSONParser.parseArrayElements(bytes)
        if let envelope = try? Envelope.decode(bytes) {
            precondition((try? Envelope.decode(envelope.jsonBytes)) == envelope, "an envelope did not round-trip")
            checkPayload(envelope.payload)
        }
        checkPayload(bytes)
        if let text = String(validating: bytes, as: UTF8.self) {
            if let time = Timestamp(rfc3339: text) {
                precondition(Timestamp(rfc3339: time.rfc3339) == time, "a timestamp did not round-trip")
            }
            if let decoded = Base64.decode(text) {
                precondition(Base64.encode(decoded) == text, "base64 accepted a non-canonical text")
            }
            _ = EventID(text)
            _ = CalendarDate(iso8601: text)
        }
        _ = try? SignedHead.decode(payload: bytes)
    }

    static func checkPayload(_ bytes: [UInt8]) {
        for context in [context, .replay] {
            guard let payload = try? EventPayload.decode(bytes, context: context) else { continue }
            let encoded = payload.jsonBytes
            guard let again = try? EventPayload.decode(encoded, context: .replay) else {
                preconditionFailure("an accepted event's encoding does not decode")
            }
            precondition(again == payload, "an event did not round-trip")
            precondition(again.jsonBytes == encoded, "an event's encoding is not stable")
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
