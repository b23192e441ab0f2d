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
    /// - Parameters:
    ///   - routing: the ports nginx proxies to and the canary's share.
    ///   - manifestHash: SHA-256 of the manifest text, written into the header.
    public static func render(_ manifest: Manifest, target: NginxTarget, routing: Routing, manifestHash: String) -> String {
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
                log_format swiftdeploy escape=json '{\(logFormatBody())}';
                access_log \(target.accessLog) swiftdeploy;


            """
        out += trustedProxies(manifest.guardSettings.trustedProxies.map(\.description))
        out += "    upstream swiftdeploy_stable {\n        server \(stableAddress);\n        keepalive 16;\n    }\n"
        if let canary = routing.canary {
            let weight = canary.weight
            let canaryAddress = "127.0.0.1:\(canary.port)"
            out += "    upstream swiftdeploy_canary {\n        server \(canaryAddress);\n        keepalive 16;\n    }\n"
            out += split(weight: weight, sticky: manifest.nginx.sticky, match: manifest.service.canary?.match)
        } else {
            out += "    map \"\" $swiftdeploy_track {\n        default stable;\n    }\n"
        }
        let listen = hostPart(manifest.nginx.listen)
        if let tls = manifest.nginx.tls {
            out += server(manifest, listen: ["\(listen):\(tls.port) ssl http2"], extra: secure(tls))
            out += tls.redirect ? redirect(listen: "\(listen):\(manifest.nginx.port)", to: tls.port, accessLog: target.accessLog)
                                : server(manifest, listen: ["\(listen):\(manifest.nginx.port)"])
        } else {
            out += server(manifest, listen: ["\(listen):\(manifest.nginx.port)"])
        }
        out += "}\n"
        return out
    }

    /// One server that proxies to the tracks, with the JSON error pages.
    static func server(_ manifest: Manifest, listen: [String], extra: String = "") -> String {
        let timeout = manifest.nginx.proxyTimeout
        let connectTimeout = min(timeout, .seconds(5))
        var out = "\n    server {\n"
        out += listen.map { "        listen \($0);\n" }.joined()
        out += "        add_header X-Deployed-By swiftdeploy always;\n" + extra
        out += """

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
            out += "            return \(code) '\(errorBody(error: error, code: code, service: manifest.service.name, contact: manifest.nginx.contact))';\n"
            out += "        }\n"
        }
        return out + "    }\n"
    }

    /// TLS 1.2 and 1.3 with forward-secret AEAD ciphers only (Mozilla's "intermediate" profile),
    /// no session tickets (their key would never rotate), OCSP stapling (nginx staples when the
    /// chain names a responder and holds the issuer) and HSTS. The pair is the checked copy
    /// installed beside nginx.conf.
    static func secure(_ tls: EdgeTLSSettings) -> String {
        var out = """
                    ssl_certificate \(installedCertificate);
                    ssl_certificate_key \(installedKey);
                    ssl_protocols TLSv1.2 TLSv1.3;
                    ssl_ciphers \(ciphers);
                    ssl_prefer_server_ciphers off;
                    ssl_session_cache shared:swiftdeploy_tls:10m;
                    ssl_session_timeout 1d;
                    ssl_session_tickets off;
                    ssl_stapling on;
                    ssl_stapling_verify on;

            """
        if tls.hsts > .zero {
            out += "        add_header Strict-Transport-Security \"max-age=\(Int(tls.hsts.seconds))\" always;\n"
        }
        return out
    }

    /// Where nginx.conf finds the checked certificate and key, relative to its own folder.
    public static let installedCertificate = "tls/certificate.pem"
    public static let installedKey = "tls/key.pem"

    static let ciphers = ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                          "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
                          "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384"].joined(separator: ":")

    /// Plain HTTP that sends every request to the same URL over HTTPS (308 keeps the method and body).
    /// Its requests are logged like the others, so the guard sees a client probing over HTTP too.
    static func redirect(listen: String, to port: Int, accessLog: String) -> String {
        """

            log_format swiftdeploy_redirect escape=json '{\(logFormatBody(track: "\"\""))}';

            server {
                listen \(listen);
                access_log \(accessLog) swiftdeploy_redirect;
                add_header X-Deployed-By swiftdeploy always;
                location / {
                    return 308 https://$host\(port == 443 ? "" : ":\(port)")$request_uri;
                }
            }

        """
    }


    /// - Parameter track: what the `upstream` field says; the redirect server names no track, so
    ///   its 308s never count in a track's figures.
    static func logFormatBody(track: String = AccessLogField.track.nginxValue) -> String {
        AccessLogField.allCases.map { "\"\($0.rawValue)\":\($0 == .track ? track : $0.nginxValue)" }.joined(separator: ",")
    }

    /// nginx itself believes X-Forwarded-For only from trusted proxies (realip), so `remote_addr`
    /// is the client; the raw header is logged too.
    static func trustedProxies(_ proxies: [String]) -> String {
        guard !proxies.isEmpty else { return "" }
        var out = proxies.map { "    set_real_ip_from \($0);\n" }.joined()
        out += "    real_ip_header X-Forwarded-For;\n    real_ip_recursive on;\n\n"
        return out
    }

    /// `$swiftdeploy_track` for each request: `match`ing requests to the canary, the rest split by weight.
    static func split(weight: Int, sticky: Bool, match: CanaryMatch?) -> String {
        guard let match, !match.headers.isEmpty || !match.cookies.isEmpty else { return split(weight: weight, sticky: sticky, into: "$swiftdeploy_track") }
        // One map per header or cookie names "canary" when its value matches; all of them joined are
        // empty only for a request that matches none, which the weight then decides.
        let sources = match.headers.sorted { $0.key < $1.key }.map { ("$http_\($0.key.lowercased().replacingOccurrences(of: "-", with: "_"))", $0.value) }
            + match.cookies.sorted { $0.key < $1.key }.map { ("$cookie_\($0.key)", $0.value) }
        var out = ""
        for (index, (variable, value)) in sources.enumerated() {
            out += "    map \(variable) $swiftdeploy_match_\(index) {\n        \"\(value)\" canary;\n        default \"\";\n    }\n"
        }
        out += split(weight: weight, sticky: sticky, into: "$swiftdeploy_split")
        let joined = sources.indices.map { "$swiftdeploy_match_\($0)" }.joined()
        out += "    map \"\(joined)\" $swiftdeploy_track {\n        \"\" $swiftdeploy_split;\n        default canary;\n    }\n"
        return out
    }

    static func split(weight: Int, sticky: Bool, into variable: String) -> String {
        // Sticky: the same client address always lands on the same track; otherwise per request.
        let key = sticky ? "${remote_addr}" : "${request_id}"
        switch weight {
        case 0: return "    map \"\" \(variable) {\n        default stable;\n    }\n"
        case 100: return "    map \"\" \(variable) {\n        default canary;\n    }\n"
        default: return "    split_clients \"\(key)\" \(variable) {\n        \(weight)% canary;\n        * stable;\n    }\n"
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
