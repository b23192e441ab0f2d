import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Vocabulary

extension HTTPField.Name {
    /// Which track answered: `stable` or `canary`. nginx passes it through to clients.
    public static let xMode = Self("X-Mode")!
}

/// Builds the demo backend that SwiftDeploy's example manifest deploys: a tiny JSON service with
/// health, Prometheus metrics and chaos switches, so canary gating can be shown end to end.
public enum DemoApplication {
    /// Routes that are the service itself; only these are counted and subject to chaos.
    static let applicationPaths: Set<String> = ["/"]

    public static func make(
        config: DemoConfig,
        random: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator(),
        logger: Logger = Logger(label: "swiftdeploy-demo")
    ) -> some ApplicationProtocol {
        let state = DemoState(config: config, random: random)
        let router = Router()
        router.add(middleware: DemoMiddleware(state: state))
        router.get("/") { _, _ in
            json(["message": "Hello from swiftdeploy-demo", "mode": .string(config.mode.rawValue),
                  "version": .string(config.version), "timestamp": .string(timestamp())])
        }
        router.get("/healthz") { _, _ in
            json(["status": "ok", "uptime_seconds": .number(await state.uptimeSeconds),
                  "mode": .string(config.mode.rawValue), "version": .string(config.version)])
        }
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers,
                            body: .init(byteBuffer: ByteBuffer(string: await state.renderMetrics())))
        }
        // A small site for the guard's demo traffic: pages `/section/<number>`, assets, an API and a
        // login that always refuses; anything else is not found, as on a real site.
        router.get("/:section/:id") { _, context in
            guard let id = context.parameters.get("id"), !id.isEmpty, id.allSatisfy(\.isNumber),
                  let section = context.parameters.get("section"), !section.hasPrefix(".") else {
                return json(["error": "not found"], status: .notFound)
            }
            return json(["page": .string("\(section)/\(id)"), "version": .string(config.version)])
        }
        router.get("/static/**") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "/* asset */"))) }
        router.get("/api/**") { _, _ in json(["ok": true, "timestamp": .string(timestamp())]) }
        router.post("/login") { _, _ in json(["error": "wrong user name or password"], status: .unauthorized) }
        router.post("/chaos") { request, _ in
            guard config.mode == .canary else {
                return json(["error": "chaos is only accepted in canary mode; this instance is stable"], status: .forbidden)
            }
            var request = request
            let body = try await request.collectBody(upTo: 64 * 1024)
            do {
                let chaos = try Chaos.parse(json: JSONValue(parsing: Data(buffer: body)))
                await state.setChaos(chaos)
                logger.info("chaos set", metadata: ["mode": "\(chaos.name)"])
                return json(["chaos": .string(chaos.name), "mode": .string(config.mode.rawValue)])
            } catch let error as ChaosRequestError {
                return json(["error": .string(error.description)], status: .badRequest)
            }
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "swiftdeploy-demo"),
            logger: logger
        )
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        let data = Data(value.jsonLine.utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func timestamp() -> String {
        Date().formatted(.iso8601)
    }
}

/// Adds `X-Mode` to every response, injects chaos into application routes and records their metrics.
struct DemoMiddleware<Context: RequestContext>: RouterMiddleware {
    let state: DemoState

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        let isApplication = DemoApplication.applicationPaths.contains(path)
        let started = ContinuousClock.now
        var response: Response
        if isApplication, case .slow(let seconds) = await state.chaos {
            try await Task.sleep(for: .seconds(seconds))
        }
        if isApplication, await state.shouldInjectError() {
            response = DemoApplication.json(["error": "chaos: injected failure"], status: .internalServerError)
        } else {
            do {
                response = try await next(request, context)
            } catch let error as any HTTPResponseError {
                response = try error.response(from: request, context: context)
            }
        }
        response.headers[.xMode] = state.config.mode.rawValue
        if isApplication || !["/healthz", "/metrics"].contains(path) {
            await state.record(method: request.method.rawValue, path: isApplication || path == "/chaos" ? path : "other",
                               status: response.status.code, seconds: (ContinuousClock.now - started).seconds)
        }
        return response
    }
}
