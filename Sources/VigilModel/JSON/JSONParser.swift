/// Why a byte sequence is not acceptable JSON, and where.
package struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The byte offset at which the problem was found.
    package var offset: Int
    package var reason: String

    package var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// A strict RFC 8259 parser.
///
/// Beyond the grammar it refuses duplicate keys in an object, unpaired UTF-16 surrogates in `\u` escapes,
/// invalid UTF-8, nesting deeper than ``maximumDepth`` and any byte after the value other than whitespace.
package struct JSONParser: ~Copyable {
    package static let maximumDepth = 64

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index: Int
    private var depth: Int

    private init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        self.index = 0
        self.depth = 0
    }

    /// Parses one JSON text.
    package static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        try withContiguous(bytes) { (buffer: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> JSONValue in
            try parse(buffer: buffer)
        }
    }

    /// Parses one JSON text held in an array (the common case, without generic dispatch).
    package static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError> = bytes.withUnsafeBufferPointer { buffer in
            do throws(JSONParseError) { return .success(try parse(buffer: buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    static func parse(buffer: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes: buffer)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.index == buffer.count else { throw parser.error("unexpected bytes after the JSON value") }
        return value
    }

    /// Parses a JSON text that must be an array, returning each element with the byte range it occupies.
    ///
    /// The ranges let a caller keep each element's exact bytes (a batch of envelopes is stored element by element).
    package static func parseArrayElements(
        _ bytes: some Collection<UInt8>
    ) throws(JSONParseError) -> [(range: Range<Int>, value: JSONValue)] {
        try withContiguous(bytes) {
            (buffer: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> [(range: Range<Int>, value: JSONValue)] in
            var parser = JSONParser(bytes: buffer)
            parser.skipWhitespace()
            guard parser.peek() == UInt8(ascii: "[") else { throw parser.error("expected a JSON array") }
            parser.index += 1
            parser.depth = 1
            var elements: [(range: Range<Int>, value: JSONValue)] = []
            parser.skipWhitespace()
            if parser.peek() == UInt8(ascii: "]") {
                parser.index += 1
            } else {
                while true {
                    parser.skipWhitespace()
                    let start = parser.index
                    let value = try parser.parseValue()
                    elements.append((start..<parser.index, value))
                    parser.skipWhitespace()
                    guard let next = parser.peek() else { throw parser.error("unterminated array") }
                    parser.index += 1
                    if next == UInt8(ascii: "]") { break }
                    guard next == UInt8(ascii: ",") else { throw parser.error("expected ',' or ']' in array") }
                }
            }
            parser.skipWhitespace()
            guard parser.index == buffer.count else { throw parser.error("unexpected bytes after the JSON value") }
            return elements
        }
    }

    private static func withContiguous<R>(
        _ bytes: some Collection<UInt8>,
        _ body: (UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> R
    ) throws(JSONParseError) -> R {
        let result: Result<R, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            do throws(JSONParseError) { return .success(try body(buffer)) } catch { return .failure(error) }
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        let fallback: Result<R, JSONParseError> = copy.withUnsafeBufferPointer { buffer in
            do throws(JSONParseError) { return .success(try body(buffer)) } catch { return .failure(error) }
        }
        return try fallback.get()
    }

    // MARK: - Grammar

    private func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    private func error(_ reason: String) -> JSONParseError {
        JSONParseError(offset: index, reason: reason)
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard let byte = peek() else { throw error("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return .object(try parseObject())
        case UInt8(ascii: "["): return .array(try parseArray())
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        default:
            throw error("unexpected character")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end of input") }
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: count)
        for offset in 0..<count where bytes[index + offset] != expected[offset] {
            throw error("invalid literal")
        }
        index += count
    }

    private mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > JSONParser.maximumDepth { throw error("nesting deeper than \(JSONParser.maximumDepth) levels") }
    }

    private mutating func parseObject() throws(JSONParseError) -> JSONObject {
        try enter()
        index += 1  // {
        var members: [JSONObject.Member] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return JSONObject(uniqueMembers: members)
        }
        var seen: Set<String>? = nil
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let keyOffset = index
            let key = try parseString()
            // Small objects: a linear scan beats hashing. Large ones switch to a set.
            if members.count < 16 {
                for member in members where member.key == key {
                    throw JSONParseError(offset: keyOffset, reason: "duplicate key \"\(key.prefix(64))\"")
                }
            } else {
                if seen == nil { seen = Set(members.map(\.key)) }
                if !seen!.insert(key).inserted {
                    throw JSONParseError(offset: keyOffset, reason: "duplicate key \"\(key.prefix(64))\"")
                }
            }
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw error("expected ':' after an object key") }
            index += 1
            skipWhitespace()
            let value = try parseValue()
            members.append(JSONObject.Member(key: key, value: value))
            skipWhitespace()
            guard let next = peek() else { throw error("unterminated object") }
            index += 1
            if next == UInt8(ascii: "}") { break }
            guard next == UInt8(ascii: ",") else { throw error("expected ',' or '}' in object") }
        }
        depth -= 1
        return JSONObject(uniqueMembers: members)
    }

    private mutating func parseArray() throws(JSONParseError) -> [JSONValue] {
        try enter()
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return elements
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard let next = peek() else { throw error("unterminated array") }
            index += 1
            if next == UInt8(ascii: "]") { break }
            guard next == UInt8(ascii: ",") else { throw error("expected ',' or ']' in array") }
        }
        depth -= 1
        return elements
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        let start = index
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), first >= 0x30 && first <= 0x39 else { throw error("invalid number") }
        index += 1
        if first != 0x30 {
            skipDigits()
        } else if let next = peek(), next >= 0x30 && next <= 0x39 {
            throw error("leading zeros are not allowed in numbers")
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard try requireDigit() else { throw error("invalid number") }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard try requireDigit() else { throw error("invalid number") }
        }
        let literal = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        return JSONNumber(uncheckedLiteral: literal)
    }

    private mutating func requireDigit() throws(JSONParseError) -> Bool {
        guard let digit = peek(), digit >= 0x30 && digit <= 0x39 else { return false }
        skipDigits()
        return true
    }

    private mutating func skipDigits() {
        while index < bytes.count, bytes[index] >= 0x30 && bytes[index] <= 0x39 { index += 1 }
    }

    private mutating func parseString() throws(JSONParseError) -> String {
        index += 1  // opening quote
        let start = index
        var ascii = true
        // Fast path: no escapes. Scan to the closing quote, then validate UTF-8 once (ASCII needs no check).
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                if ascii { return String(decoding: slice, as: UTF8.self) }
                guard let string = String(validating: slice, as: UTF8.self) else {
                    throw JSONParseError(offset: start, reason: "invalid UTF-8 in string")
                }
                return string
            }
            if byte >= 0x80 { ascii = false }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("control character in string") }
            index += 1
        }
        guard index < bytes.count else { throw error("unterminated string") }
        // Slow path: copy what was scanned, then decode escapes.
        var buffer = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                guard let string = String(validating: buffer, as: UTF8.self) else {
                    throw JSONParseError(offset: start, reason: "invalid UTF-8 in string")
                }
                return string
            }
            if byte < 0x20 { throw error("control character in string") }
            if byte != UInt8(ascii: "\\") {
                buffer.append(byte)
                index += 1
                continue
            }
            index += 1
            guard let escape = peek() else { break }
            index += 1
            switch escape {
            case UInt8(ascii: "\""): buffer.append(0x22)
            case UInt8(ascii: "\\"): buffer.append(0x5C)
            case UInt8(ascii: "/"): buffer.append(0x2F)
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0C)
            case UInt8(ascii: "n"): buffer.append(0x0A)
            case UInt8(ascii: "r"): buffer.append(0x0D)
            case UInt8(ascii: "t"): buffer.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = UInt32(try parseHex4())
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    guard peek() == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u")
                    else { throw error("unpaired UTF-16 surrogate") }
                    index += 2
                    let low = UInt32(try parseHex4())
                    guard low >= 0xDC00 && low <= 0xDFFF else { throw error("unpaired UTF-16 surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                    throw error("unpaired UTF-16 surrogate")
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid unicode escape") }
                buffer.append(contentsOf: UTF8.encode(unicode)!)
            default:
                throw error("invalid escape sequence")
            }
        }
        throw error("unterminated string")
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt16 {
        guard index + 4 <= bytes.count else { throw error("truncated unicode escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let nibble: UInt8
            switch byte {
            case 0x30...0x39: nibble = byte - 0x30
            case 0x41...0x46: nibble = byte - 0x41 + 10
            case 0x61...0x66: nibble = byte - 0x61 + 10
            default: throw error("invalid unicode escape")
            }
            value = value << 4 | UInt16(nibble)
            index += 1
        }
        return value
    }
}
