import EdgeRules
import Foundation
import Yams
import Vocabulary

/// The `guard:` section: the daemon's settings, its shared decisions, rules and request classes.
extension ManifestLoader {
    static let guardKeys = ["log", "log_format", "reorder_horizon", "window", "baseline", "thresholds", "bans", "forgive_after", "enforcer", "allow",
                            "trusted_proxies", "ipv6_prefix", "max_tracked_ips", "global_cooldown", "min_requests", "rules", "requests", "slack_webhook", "webhook",
                            "shared", "asn_table", "cohorts"]

    /// The guard's settings when no manifest names any: every default, state in `stateDirectory`
    /// (what `guard bans list` reads on a host where the guard runs from the package's unit).
    public static func defaultGuard(stateDirectory: String) -> GuardSettings {
        let reader = FieldReader(file: "(defaults)", environment: [:])
        return buildGuard(reader.section(nil, path: "guard", keys: guardKeys), stateDirectory: stateDirectory, directory: stateDirectory)
    }

    static func buildGuard(_ section: Section, stateDirectory: String, directory: String) -> GuardSettings {
        let baseline = section.section("baseline", keys: ["window", "recalc", "min_points", "mean_floor", "client_floor", "client_quantile"])
        let thresholds = section.section("thresholds", keys: ["z_score", "multiplier", "error_surge", "surge_tightening"])
        let bans = section.list("bans", expected: "ban lengths such as 10m, 2h or permanent") { text -> BanLength? in
            text == "permanent" ? .permanent : DurationText.parse(text).map(BanLength.lasting)
        } ?? GuardDefaults.bans.map { $0.map { .lasting(.seconds($0)) } ?? .permanent }
        if bans.isEmpty { section.reader.fail(section.node("bans")?.mark, section.field("bans"), "needs at least one ban length") }
        func webhook(_ key: String) -> String? {
            section.value(key, expected: "an https URL (http only to this host), or empty to disable") { text -> String? in
                if text.isEmpty { return "" }
                guard let url = URL(string: text), let host = url.host(percentEncoded: false) else { return nil }
                // Alerts name addresses and rules: in clear text only as far as this host.
                guard url.scheme == "https" || (url.scheme == "http" && IPAddress.isLoopback(host: host)) else { return nil }
                return text
            }.flatMap { $0.isEmpty ? nil : $0 }
        }
        return GuardSettings(
            log: absolutePath(section.string("log", default: "\(stateDirectory)/nginx/logs/access.log"), relativeTo: directory),
            logFormat: section.choice("log_format", default: .auto),
            reorderHorizon: section.duration("reorder_horizon", default: .seconds(GuardDefaults.reorderHorizon)),
            window: section.duration("window", default: .seconds(GuardDefaults.window)),
            baseline: BaselineSettings(
                window: baseline.duration("window", default: .seconds(GuardDefaults.baselineWindow)),
                recalc: baseline.duration("recalc", default: .seconds(GuardDefaults.recalcEvery)),
                minPoints: baseline.int("min_points", in: 1...1_000_000, default: GuardDefaults.minPoints),
                meanFloor: baseline.double("mean_floor", in: 0...1_000_000, default: GuardDefaults.meanFloor),
                clientFloor: baseline.double("client_floor", in: 0.01...1_000_000, default: GuardDefaults.clientFloor),
                clientQuantile: baseline.double("client_quantile", in: 0.5...1, default: GuardDefaults.clientQuantile)
            ),
            thresholds: Thresholds(
                zScore: thresholds.double("z_score", in: 0.5...100, default: GuardDefaults.zScore),
                multiplier: thresholds.double("multiplier", in: 1...1000, default: GuardDefaults.multiplier),
                errorSurge: thresholds.double("error_surge", in: 1...1000, default: GuardDefaults.errorSurge),
                surgeTightening: thresholds.double("surge_tightening", in: 0.05...1, default: GuardDefaults.surgeTightening)
            ),
            bans: bans,
            forgiveAfter: section.duration("forgive_after", default: .seconds(GuardDefaults.forgiveAfter)),
            enforcer: section.choice("enforcer", default: .nftables),
            allow: section.cidrs("allow", default: GuardDefaults.allow),
            trustedProxies: section.cidrs("trusted_proxies", default: []),
            ipv6Prefix: section.int("ipv6_prefix", in: 16...128, default: GuardDefaults.ipv6Prefix),
            maxTrackedIPs: section.int("max_tracked_ips", in: 100...100_000_000, default: GuardDefaults.maxTrackedIPs),
            globalCooldown: section.duration("global_cooldown", default: .seconds(GuardDefaults.globalCooldown)),
            minRequests: section.int("min_requests", in: 1...1_000_000, default: GuardDefaults.minRequests),
            rules: buildRules(section.section("rules", keys: ["flood", "scanner", "brute_force", "scraper", "bad_agents", "credential_stuffing"])),
            requests: buildRequests(section.section("requests", keys: ["asset_extensions", "login_paths", "probe_paths", "crawler_agents",
                                                                       "bad_agents", "scripted_agents"])),
            slackWebhook: webhook("slack_webhook"),
            webhook: webhook("webhook"),
            shared: buildShared(section, directory: directory),
            asnTable: section.string("asn_table").map { absolutePath($0, relativeTo: directory) },
            cohorts: buildCohorts(section)
        )
    }

    /// `guard.cohorts`: `false` switches them off; a mapping changes the judgement (docs/guard.md "Cohorts").
    static func buildCohorts(_ guardSection: Section) -> CohortSettings? {
        if let node = guardSection.node("cohorts"), node.scalar != nil {
            return guardSection.bool("cohorts", default: true) ? CohortSettings() : nil
        }
        let section = guardSection.section("cohorts", keys: ["window", "min_addresses", "naked_share", "normal_multiple", "quiet_pages", "hold", "ban_after"])
        var cohorts = CohortSettings()
        cohorts.window = Int(section.duration("window", default: .seconds(cohorts.window)).seconds)
        cohorts.minimumAddresses = section.int("min_addresses", in: 2...100_000, default: cohorts.minimumAddresses)
        cohorts.nakedShare = section.double("naked_share", in: 0.05...1, default: cohorts.nakedShare)
        cohorts.normalMultiple = section.double("normal_multiple", in: 1...100, default: cohorts.normalMultiple)
        cohorts.quietPages = UInt32(section.int("quiet_pages", in: 1...1_000_000, default: Int(cohorts.quietPages)))
        cohorts.hold = Int(section.duration("hold", default: .seconds(cohorts.hold)).seconds)
        if section.string("ban_after") == "never" {
            cohorts.banAfter = nil
        } else {
            cohorts.banAfter = Int(section.duration("ban_after", default: .seconds(cohorts.banAfter ?? 900)).seconds)
        }
        return cohorts
    }

    /// `guard.shared`: a postgres:// URL, or a mapping with `url`, `password_file`, `edge` and `retention`.
    static func buildShared(_ guardSection: Section, directory: String) -> SharedGuardSettings? {
        guard let node = guardSection.node("shared") else { return nil }
        let expected = "a postgres:// URL such as postgres://guard@db:5432/swiftdeploy"
        let isURL = { (text: String) -> String? in
            guard let url = URLComponents(string: text), ["postgres", "postgresql"].contains(url.scheme ?? ""), url.password == nil else { return nil }
            return text
        }
        let host = ProcessInfo.processInfo.hostName
        if node.scalar != nil {
            guard let url = guardSection.value("shared", expected: expected + " (no password in it: password_file or the environment)", isURL) else { return nil }
            return SharedGuardSettings(url: url, edge: host)
        }
        let section = guardSection.section("shared", keys: ["url", "password_file", "edge", "retention"])
        let url = section.required("url", expected, fallback: "") { section.value("url", expected: expected + " (no password in it: password_file or the environment)", isURL) }
        let edge = section.value("edge", expected: "a name of letters, digits, '.', '-' or '_' (64 at most)") { text -> String? in
            text.count <= 64 && !text.isEmpty && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) } ? text : nil
        } ?? host
        return SharedGuardSettings(url: url, passwordFile: section.string("password_file").map { absolutePath($0, relativeTo: directory) },
                                   edge: edge, retention: section.duration("retention", default: .seconds(30 * 86_400)))
    }

    /// `guard.rules`: each behaviour rule as `{burst: N, rate: 10/s}` (burst 0 switches it off).
    static func buildRules(_ section: Section) -> DetectionRules {
        var rules = DetectionRules()
        func bucket(_ key: String, _ fallback: LeakyBucketRule, extra: [String] = []) -> (LeakyBucketRule, Section) {
            let rule = section.section(key, keys: ["burst", "rate"] + extra)
            let rate = rule.value("rate", expected: "a rate such as 10/s, 3/m or 100/h", LeakyBucketRule.parseRate) ?? fallback.rate
            return (LeakyBucketRule(burst: rule.double("burst", in: 0...1_000_000, default: fallback.burst), rate: rate), rule)
        }
        rules.flood = bucket("flood", rules.flood).0
        let scanner = bucket("scanner", rules.scanner, extra: ["probe_weight"])
        rules.scanner = scanner.0
        rules.probeWeight = scanner.1.double("probe_weight", in: 1...1000, default: rules.probeWeight)
        rules.bruteForce = bucket("brute_force", rules.bruteForce).0
        rules.scraper = bucket("scraper", rules.scraper).0
        rules.badAgents = section.bool("bad_agents", default: rules.badAgents)
        rules.stuffingFloor = section.int("credential_stuffing", in: 1...100_000_000, default: rules.stuffingFloor)
        return rules
    }

    /// `guard.requests`: the lists that classify requests; each replaces its default when given.
    static func buildRequests(_ section: Section) -> RequestClassifier {
        func strings(_ key: String, _ fallback: [String]) -> [String] {
            section.list(key, expected: "a list of strings") { $0 } ?? fallback
        }
        return RequestClassifier(
            assetExtensions: strings("asset_extensions", RequestClassifier.defaultAssetExtensions).map { $0.hasPrefix(".") ? String($0.dropFirst()) : $0 },
            loginPaths: strings("login_paths", RequestClassifier.defaultLoginPaths),
            probePaths: strings("probe_paths", RequestClassifier.defaultProbePaths),
            crawlerAgents: strings("crawler_agents", RequestClassifier.defaultCrawlerAgents),
            badAgents: strings("bad_agents", RequestClassifier.defaultBadAgents),
            scriptedAgents: strings("scripted_agents", RequestClassifier.defaultScriptedAgents))
    }
}
