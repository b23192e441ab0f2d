/// The policies SwiftDeploy ships, Rego v1. `swiftdeploy init` writes them into the manifest's
/// `policy.dir` (never over a file that exists) for users to read and edit; when that directory
/// does not exist the engine uses these. The project's own `policies/` holds the same text.
public enum DefaultPolicies {
    public static let files: [(name: String, text: String)] = [
        ("infrastructure.rego", #"""
        # Is this host healthy enough to deploy onto?
        #
        # input:  {"cpu_load": 1-minute load average,
        #          "disk_free_gb": free space (GB) of the filesystem holding the state directory,
        #          "mem_used_pct": memory in use, 0-100}
        # limits: data.swiftdeploy.limits.infrastructure, from the manifest's policy.infrastructure;
        #         this file holds no numbers of its own.
        #
        # To make the gate stricter, add rules to `extra_violations` (here or in another file of this
        # package), each an object {"rule", "observed", "limit", "message"}.
        package swiftdeploy.infrastructure

        import rego.v1

        decision := verdict(input, data.swiftdeploy.limits.infrastructure)

        # The decision for any measurements and limits; the policy tests call it directly.
        verdict(host, limits) := {"allow": count(found) == 0, "violations": found} if {
        	found := union({unmeasured(host), unlimited(limits), cpu(host, limits), disk(host, limits), memory(host, limits), extra_violations})
        }

        # No measurement, no deploy.
        unmeasured(host) := {v |
        	some name in ["cpu_load", "disk_free_gb", "mem_used_pct"]
        	not is_number(host[name])
        	v := {"rule": name, "observed": "missing", "limit": "a number", "message": sprintf("%s is missing or not a number: the host cannot be judged", [name])}
        }

        # No limit, no deploy.
        unlimited(limits) := {v |
        	some name in ["max_cpu_load", "min_disk_free_gb", "max_mem_used_pct"]
        	not is_number(limits[name])
        	v := {"rule": name, "observed": "unset", "limit": "a number", "message": sprintf("limit %s is not set in the policy data", [name])}
        }

        # Each comparison checks its operands are numbers first: rego-cpp, unlike OPA, orders null above numbers.
        cpu(host, limits) := {v |
        	is_number(host.cpu_load)
        	is_number(limits.max_cpu_load)
        	host.cpu_load > limits.max_cpu_load
        	v := {"rule": "max_cpu_load", "observed": host.cpu_load, "limit": limits.max_cpu_load, "message": sprintf("cpu_load %.2f exceeds maximum %.2f", [host.cpu_load, limits.max_cpu_load])}
        }

        disk(host, limits) := {v |
        	is_number(host.disk_free_gb)
        	is_number(limits.min_disk_free_gb)
        	host.disk_free_gb < limits.min_disk_free_gb
        	v := {"rule": "min_disk_free_gb", "observed": host.disk_free_gb, "limit": limits.min_disk_free_gb, "message": sprintf("disk_free_gb %.1f is below minimum %.1f", [host.disk_free_gb, limits.min_disk_free_gb])}
        }

        memory(host, limits) := {v |
        	is_number(host.mem_used_pct)
        	is_number(limits.max_mem_used_pct)
        	host.mem_used_pct > limits.max_mem_used_pct
        	v := {"rule": "max_mem_used_pct", "observed": host.mem_used_pct, "limit": limits.max_mem_used_pct, "message": sprintf("mem_used_pct %.1f%% exceeds maximum %.1f%%", [host.mem_used_pct, limits.max_mem_used_pct])}
        }

        extra_violations contains v if {
        	false
        	v := {}
        }

        """#),
        ("infrastructure_test.rego", #"""
        # `swiftdeploy policy test` runs every test_ rule here, as `opa test` would.
        package swiftdeploy.infrastructure_test

        import rego.v1

        import data.swiftdeploy.infrastructure.verdict

        limits := {"max_cpu_load": 2, "min_disk_free_gb": 10, "max_mem_used_pct": 90}

        healthy := {"cpu_load": 1.5, "disk_free_gb": 50, "mem_used_pct": 40}

        rules(host) := {v.rule | some v in verdict(host, limits).violations}

        test_healthy_host_is_allowed if {
        	verdict(healthy, limits).allow
        	rules(healthy) == set()
        }

        test_load_at_the_limit_is_allowed if verdict(object.union(healthy, {"cpu_load": 2}), limits).allow

        test_load_above_the_limit_is_denied if rules(object.union(healthy, {"cpu_load": 2.01})) == {"max_cpu_load"}

        test_disk_at_the_minimum_is_allowed if verdict(object.union(healthy, {"disk_free_gb": 10}), limits).allow

        test_disk_below_the_minimum_is_denied if rules(object.union(healthy, {"disk_free_gb": 9.9})) == {"min_disk_free_gb"}

        test_memory_at_the_maximum_is_allowed if verdict(object.union(healthy, {"mem_used_pct": 90}), limits).allow

        test_memory_above_the_maximum_is_denied if rules(object.union(healthy, {"mem_used_pct": 90.5})) == {"max_mem_used_pct"}

        test_missing_measure_is_denied if rules(object.remove(healthy, ["cpu_load"])) == {"cpu_load"}

        test_null_measure_is_denied if rules(object.union(healthy, {"mem_used_pct": null})) == {"mem_used_pct"}

        test_missing_limit_is_denied if {
        	not verdict(healthy, object.remove(limits, ["max_cpu_load"])).allow
        }

        test_message_names_observed_and_limit if {
        	some v in verdict(object.union(healthy, {"cpu_load": 3.5}), limits).violations
        	v.message == "cpu_load 3.50 exceeds maximum 2.00"
        }

        """#),
        ("canary_safety.rego", #"""
        # Is the canary safe to promote?
        #
        # input:  {"error_rate": share of 5xx responses, 0-1,
        #          "p99_latency_ms": 99th percentile latency,
        #          "requests": canary requests in the window,
        #          "window_s": the window's length in seconds}
        # limits: data.swiftdeploy.limits.canary_safety, from the manifest's policy.canary_safety;
        #         this file holds no numbers of its own.
        #
        # Too little traffic is no evidence: fewer than min_requests denies as inconclusive.
        # To make the gate stricter, add rules to `extra_violations` (here or in another file of this package).
        package swiftdeploy.canary_safety

        import rego.v1

        decision := verdict(input, data.swiftdeploy.limits.canary_safety)

        # The decision for any measurements and limits; the policy tests call it directly.
        verdict(canary, limits) := {"allow": count(found) == 0, "violations": found} if {
        	found := union({unmeasured(canary), unlimited(limits), traffic(canary, limits), errors(canary, limits), latency(canary, limits), extra_violations})
        }

        # No measurement, no promotion.
        unmeasured(canary) := {v |
        	some name in ["error_rate", "p99_latency_ms", "requests", "window_s"]
        	not is_number(canary[name])
        	v := {"rule": name, "observed": "missing", "limit": "a number", "message": sprintf("%s is missing or not a number: the canary cannot be judged", [name])}
        }

        # No limit, no promotion.
        unlimited(limits) := {v |
        	some name in ["max_error_rate", "max_p99_latency_ms", "min_requests"]
        	not is_number(limits[name])
        	v := {"rule": name, "observed": "unset", "limit": "a number", "message": sprintf("limit %s is not set in the policy data", [name])}
        }

        # Each comparison checks its operands are numbers first: rego-cpp, unlike OPA, orders null above numbers.
        traffic(canary, limits) := {v |
        	is_number(canary.requests)
        	is_number(limits.min_requests)
        	canary.requests < limits.min_requests
        	v := {"rule": "min_requests", "observed": canary.requests, "limit": limits.min_requests, "message": sprintf("inconclusive: not enough traffic (%v requests in %vs, need at least %v)", [canary.requests, canary.window_s, limits.min_requests])}
        }

        errors(canary, limits) := {v |
        	is_number(canary.error_rate)
        	is_number(limits.max_error_rate)
        	canary.error_rate > limits.max_error_rate
        	v := {"rule": "max_error_rate", "observed": canary.error_rate, "limit": limits.max_error_rate, "message": sprintf("error_rate %.1f%% exceeds maximum %.1f%%", [canary.error_rate * 100, limits.max_error_rate * 100])}
        }

        latency(canary, limits) := {v |
        	is_number(canary.p99_latency_ms)
        	is_number(limits.max_p99_latency_ms)
        	canary.p99_latency_ms > limits.max_p99_latency_ms
        	v := {"rule": "max_p99_latency_ms", "observed": canary.p99_latency_ms, "limit": limits.max_p99_latency_ms, "message": sprintf("p99_latency %.0fms exceeds maximum %.0fms", [canary.p99_latency_ms, limits.max_p99_latency_ms])}
        }

        extra_violations contains v if {
        	false
        	v := {}
        }

        """#),
        ("canary_safety_test.rego", #"""
        # `swiftdeploy policy test` runs every test_ rule here, as `opa test` would.
        package swiftdeploy.canary_safety_test

        import rego.v1

        import data.swiftdeploy.canary_safety.verdict

        limits := {"max_error_rate": 0.05, "max_p99_latency_ms": 500, "min_requests": 20}

        good := {"error_rate": 0.01, "p99_latency_ms": 120, "requests": 400, "window_s": 30}

        rules(canary) := {v.rule | some v in verdict(canary, limits).violations}

        messages(canary) := {v.message | some v in verdict(canary, limits).violations}

        test_good_canary_is_allowed if {
        	verdict(good, limits).allow
        	rules(good) == set()
        }

        test_error_rate_at_the_limit_is_allowed if verdict(object.union(good, {"error_rate": 0.05}), limits).allow

        test_error_rate_above_the_limit_is_denied if rules(object.union(good, {"error_rate": 0.051})) == {"max_error_rate"}

        test_latency_at_the_limit_is_allowed if verdict(object.union(good, {"p99_latency_ms": 500}), limits).allow

        test_latency_above_the_limit_is_denied if rules(object.union(good, {"p99_latency_ms": 501})) == {"max_p99_latency_ms"}

        test_exactly_min_requests_is_enough if verdict(object.union(good, {"requests": 20}), limits).allow

        test_too_little_traffic_is_inconclusive if {
        	messages(object.union(good, {"requests": 19})) == {"inconclusive: not enough traffic (19 requests in 30s, need at least 20)"}
        }

        test_message_names_observed_and_limit if {
        	messages(object.union(good, {"error_rate": 0.2})) == {"error_rate 20.0% exceeds maximum 5.0%"}
        }

        test_missing_measure_is_denied if rules(object.remove(good, ["p99_latency_ms"])) == {"p99_latency_ms"}

        test_null_measure_is_denied if rules(object.union(good, {"error_rate": null})) == {"error_rate"}

        test_missing_limit_is_denied if not verdict(good, object.remove(limits, ["min_requests"])).allow

        """#),
    ]
}
