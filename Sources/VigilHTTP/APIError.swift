package import Hummingbird
package import VigilModel
import VigilProjections

/// An HTTP error with a stable code, answered as `{"error": {"code": ..., "message": ...}}`.
///
/// The message names fields, positions and key ids; it never quotes payload content.
package struct APIError: Error, Sendable, HTTPResponseError, CustomStringConvertible {
    package var status: HTTPResponse.Status
    package var code: String
    package var message: String
    package var headers: HTTPFields

    package init(_ status: HTTPResponse.Status, code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    package init(_ error: IngestError) {
        self.init(
            Self.status(of: error.code), code: error.code.rawValue, error.message,
            headers: error.code == .unavailable ? [.retryAfter: "5"] : [:])
    }

    package static func status(of code: IngestError.Code) -> HTTPResponse.Status {
        switch code {
        case .malformedEnvelope: .badRequest
        case .invalidEvent: .unprocessableContent
        case .unknownKey, .revokedKey, .badSignature, .forbiddenType: .forbidden
        case .conflict: .conflict
        case .tooLarge: .contentTooLarge
        case .unavailable: .serviceUnavailable
        }
    }

    package static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, code: "unauthorized", message, headers: [.wwwAuthenticate: "Bearer realm=\"vigil\""])
    }

    package var body: JSONValue {
        .object(JSONObject(["error": .object(JSONObject(["code": .string(code), "message": .string(message)]))]))
    }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONResponse.make(status: status, body)
        for field in headers { response.headers.append(field) }
        return response
    }

    package var description: String { "\(status.code) \(code): \(message)" }
}

/// Builds JSON responses from ``JSONValue``s.
package enum JSONResponse {
    package static func make(status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        var bytes = JSONWriter.bytes(value)
        bytes.append(0x0A)
        return make(status: status, bytes: bytes)
    }

    /// A read model in its one JSON encoding (``ViewCoding``).
    package static func make(status: HTTPResponse.Status, view: some Encodable) throws -> Response {
        var bytes = try JSONValueEncoder.bytes(of: view)
        bytes.append(0x0A)
        return make(status: status, bytes: bytes)
    }

    static func make(status: HTTPResponse.Status, bytes: [UInt8]) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}
