import Dispatch
import Hummingbird
import HummingbirdCore
import Prometheus

/// Counts every request by route, method and status, and times it, for `GET /metrics`
/// (`vigil_http_requests_total`, `vigil_http_request_duration_seconds`; docs/metrics.md).
///
/// The route is the pattern the router matched (`/v1/alerts/{id}`), never the path a client sent, so a label
/// never carries a participant code or an id and the series stay few; a request that matched no route counts
/// as `unmatched`. The time runs from the request's arrival until its response body has been written (for the
/// live alert stream, the life of the connection). It is the outermost middleware: refusals answered by
/// the error middleware and the token check are counted with their status.
struct RequestMetrics<Context: RequestContext>: RouterMiddleware {
    let registry: PrometheusCollectorRegistry

    /// From 1 ms to 10 s: an append waits for its fsync (about 1-5 ms here), a read of a large page or an export
    /// for longer.
    static var buckets: [Duration] {
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10].map { Duration.seconds($0) }
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        var response = try await next(request, context)
        // The router names a miss "NotFound"; every route of the table begins with "/".
        let route = context.endpointPath.flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "unmatched"
        let status = response.status.code
        let body = response.body
        let record: @Sendable () -> Void = { [registry] in
            let elapsed = DispatchTime.now().uptimeNanoseconds - start
            let labels = [("route", route), ("method", request.method.rawValue)]
            registry.makeCounter(descriptor: Self.requests, labels: labels + [("status", "\(status)")]).increment()
            registry.makeDurationHistogram(descriptor: Self.duration, labels: labels, buckets: Self.buckets)
                .recordNanoseconds(Int64(elapsed))
        }
        // Recorded once the body is written (or its writing failed: the client went away).
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            defer { record() }
            try await body.write(writer)
        }
        return response
    }

    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "vigil", subsystem: "http", metricName: "requests", unitName: "total",
            helpText: "HTTP requests answered, by route pattern, method and status.")
    }

    static var duration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "vigil", subsystem: "http", metricName: "request_duration", unitName: "seconds",
            helpText: "Time from a request's arrival until its response was written, by route pattern and method.")
    }
}
