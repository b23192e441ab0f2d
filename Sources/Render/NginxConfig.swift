import Foundation
import Manifest
import Vocabulary

/// Where the rendered nginx runs, which decides how it reaches the app and where it logs.
public enum NginxTarget: Sendable {
    /// nginx as a child process on this host (`-p PREFIX`): apps on loopback, logs under the prefix.
    case local
    /// nginx in a container on the host's network: apps on the loopback ports they publish, its
    /// configuration and logs in folders mounted from the state directory.
    case compose

    public init(_ runtime: RuntimeKind) {
        self = runtime == .local ? .local : .compose
    }

    /// The access log path as nginx sees it.
    public var accessLog: String { self == .local ? "logs/access.log" : "\(ComposeFile.nginxLogDirectory)/access.log" }
}

/// Where nginx sends traffic: the stable instance's port and, while a canary runs, its port and share.
public struct Routing: Sendable, Equatable, Codable {
    public struct CanaryRoute: Sendable, Equatable, Codable {
        public var port: Int
        /// Percentage of requests (0-100).
        public var weight: Int

        public init(port: Int, weight: Int) {
            self.port = port
            self.weight = weight
        }
    }

    public var stablePort: Int
    public var canary: CanaryRoute?

    public init(stablePort: Int, canary: CanaryRoute? = nil) {
        self.stablePort = stablePort
        self.canary = canary
    }

    /// The routing the manifest declares: its ports, and its canary at its weight when configured.
    public static func declared(_ manifest: Manifest) -> Routing {
        Routing(stablePort: manifest.service.port,
                canary: manifest.service.canary.map { CanaryRoute(port: $0.port, weight: $0.weight) })
    }
}

/// Renders nginx.conf from a manifest: deterministic, stamped with the manifest's hash.
public enum NginxConfig {
    /// The fields of every access-log line, in the order written. The guard and canary analysis read them.
    public static let logFields = ["time", "msec", "remote_addr", "xff", "method", "uri", "status", "bytes",
                                   "request_time", "upstream_response_time", "upstream", "ua"]

    /// - Parameters:
    ///   - routing: the ports nginx proxies to and the canary's share.
    ///   - manifestHash: SHA-256 of the manifest text, written into the header.
    public static func render(_ manifest: Manifest, target: NginxTarget, routing: Routing, manifestHash: String) -> String {
        let service = manifest.service
        let timeout = manifest.nginx.proxyTimeout
        let connectTimeout = min(timeout, .seconds(5))
        let stableAddress = "127.0.0.1:\(routing.stablePort)"
        var out = GeneratedHeader.lines(comment: "#", manifestHash: manifestHash, manifestName: manifest.name)
        out += """
            worker_processes 1;
            pid \(target == .local ? "logs/nginx.pid" : "/tmp/nginx.pid");
            error_log \(target == .local ? "logs/error.log" : "/dev/stderr") warn;

            events {
                worker_connections 1024;
            }

            http {
                server_tokens off;
                default_type application/octet-stream;
                client_body_temp_path \(target == .local ? "tmp/client_body" : "/tmp/client_body");
                proxy_temp_path \(target == .local ? "tmp/proxy" : "/tmp/proxy");
                fastcgi_temp_path \(target == .local ? "tmp/fastcgi" : "/tmp/fastcgi");
                uwsgi_temp_path \(target == .local ? "tmp/uwsgi" : "/tmp/uwsgi");
                scgi_temp_path \(target == .local ? "tmp/scgi" : "/tmp/scgi");

                # One JSON object per request; read by `swiftdeploy guard` and canary analysis.
                log_format swiftdeploy escape=json '{\(logFormatBody)}';
                access_log \(target.accessLog) swiftdeploy;


            """
        out += trustedProxies(manifest.guardSettings.trustedProxies.map(\.description))
        out += "    upstream swiftdeploy_stable {\n        server \(stableAddress);\n        keepalive 16;\n    }\n"
        if let canary = routing.canary {
            let weight = canary.weight
            let canaryAddress = "127.0.0.1:\(canary.port)"
            out += "    upstream swiftdeploy_canary {\n        server \(canaryAddress);\n        keepalive 16;\n    }\n"
            out += split(weight: weight, sticky: manifest.nginx.sticky)
        } else {
            out += "    map \"\" $swiftdeploy_track {\n        default stable;\n    }\n"
        }
        out += """

                server {
                    listen \(hostPart(manifest.nginx.listen)):\(manifest.nginx.port);
                    add_header X-Deployed-By swiftdeploy always;

                    location / {
                        proxy_pass http://swiftdeploy_$swiftdeploy_track;
                        proxy_http_version 1.1;
                        proxy_set_header Connection "";
                        proxy_set_header Host $host;
                        proxy_set_header X-Real-IP $remote_addr;
                        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                        proxy_set_header X-Forwarded-Proto $scheme;
                        proxy_connect_timeout \(connectTimeout.manifestText);
                        proxy_send_timeout \(timeout.manifestText);
                        proxy_read_timeout \(timeout.manifestText);
                    }

            """
        for (code, error) in [(502, "bad gateway"), (503, "service unavailable"), (504, "gateway timeout")] {
            out += "        error_page \(code) /_swiftdeploy/\(code).json;\n"
            out += "        location = /_swiftdeploy/\(code).json {\n"
            out += "            internal;\n            default_type application/json;\n"
            out += "            return \(code) '\(errorBody(error: error, code: code, service: service.name, contact: manifest.nginx.contact))';\n"
            out += "        }\n"
        }
        out += "    }\n}\n"
        return out
    }

    static var logFormatBody: String {
        let values: [String: String] = [
            "time": "\"$time_iso8601\"", "msec": "$msec", "remote_addr": "\"$remote_addr\"", "xff": "\"$http_x_forwarded_for\"",
            "method": "\"$request_method\"", "uri": "\"$request_uri\"", "status": "$status", "bytes": "$body_bytes_sent",
            "request_time": "$request_time", "upstream_response_time": "\"$upstream_response_time\"",
            "upstream": "\"$swiftdeploy_track\"", "ua": "\"$http_user_agent\"",
        ]
        return logFields.map { "\"\($0)\":\(values[$0]!)" }.joined(separator: ",")
    }

    /// nginx itself believes X-Forwarded-For only from trusted proxies (realip), so `remote_addr`
    /// is the client; the raw header is logged too.
    static func trustedProxies(_ proxies: [String]) -> String {
        guard !proxies.isEmpty else { return "" }
        var out = proxies.map { "    set_real_ip_from \($0);\n" }.joined()
        out += "    real_ip_header X-Forwarded-For;\n    real_ip_recursive on;\n\n"
        return out
    }

    static func split(weight: Int, sticky: Bool) -> String {
        // Sticky: the same client address always lands on the same track; otherwise per request.
        let key = sticky ? "${remote_addr}" : "${request_id}"
        switch weight {
        case 0: return "    map \"\" $swiftdeploy_track {\n        default stable;\n    }\n"
        case 100: return "    map \"\" $swiftdeploy_track {\n        default canary;\n    }\n"
        default: return "    split_clients \"\(key)\" $swiftdeploy_track {\n        \(weight)% canary;\n        * stable;\n    }\n"
        }
    }

    static func errorBody(error: String, code: Int, service: String, contact: String) -> String {
        // The loader admits no quote, backslash, dollar or newline in these, so nothing needs escaping.
        "{\"error\":\"\(error)\",\"code\":\(code),\"service\":\"\(service)\",\"contact\":\"\(contact)\"}"
    }

    static func hostPart(_ listen: String) -> String { listen.contains(":") ? "[\(listen)]" : listen }
}

/// The header every generated file starts with, so nobody edits it by hand.
public enum GeneratedHeader {
    public static func lines(comment: String, manifestHash: String, manifestName: String) -> String {
        """
        \(comment) Generated by swiftdeploy from the manifest of "\(manifestName)". Do not edit:
        \(comment) change swiftdeploy.yaml and run `swiftdeploy init`.
        \(comment) manifest-sha256: \(manifestHash)


        """
    }

    /// The manifest hash a generated file was stamped with, if any.
    public static func manifestHash(in text: String) -> String? {
        for line in text.split(separator: "\n").prefix(5) {
            if let range = line.range(of: "manifest-sha256: ") { return String(line[range.upperBound...]) }
        }
        return nil
    }
}
