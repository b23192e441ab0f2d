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
