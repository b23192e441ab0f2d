# Is the canary safe to promote?
#
# input:  {"error_rate": share of 5xx responses, 0-1,
#          "p99_latency_ms": 99th percentile latency,
#          "requests": canary requests in the window,
#          "window_s": the window's length in seconds,
#          "metrics": {NAME: number or null}, the user's own measurements (canary_safety.metrics),
#          "limits": {"max_error_rate", "max_p99_latency_ms", "min_requests",
#                     "metrics": {NAME: {"min", "max"}}}, from the manifest's policy.canary_safety;
#                    this file holds no numbers of its own}
#
# Too little traffic is no evidence: fewer than min_requests denies as inconclusive.
# Fails closed on every engine, as infrastructure.rego does (object.get, `show` in messages).
# To make the gate stricter, add rules to `extra_violations` (here or in another file of this package).
package swiftdeploy.canary_safety

import rego.v1

decision := judge(input)

# The decision for any input: measurements and their limits (under "limits") in one object.
judge(x) := verdict(object.remove(x, ["limits"]), object.get(x, "limits", {})) if is_object(x)

judge(x) := {"allow": false, "violations": [{
	"rule": "input", "observed": "not an object", "limit": "an object",
	"message": "the input is not an object of measurements: the canary cannot be judged",
}]} if not is_object(x)

# Each measurement, the limit it is held to, and which side of the limit breaks it.
checks := [
	{"measure": "requests", "limit": "min_requests", "breaks": "below"},
	{"measure": "error_rate", "limit": "max_error_rate", "breaks": "above"},
	{"measure": "p99_latency_ms", "limit": "max_p99_latency_ms", "breaks": "above"},
]

# The decision for any measurements and limits; the policy tests call it directly.
verdict(canary, limits) := {"allow": count(found) == 0, "violations": found} if {
	found := union({unmeasured(canary), unlimited(limits), broken(canary, limits), metric_violations(canary, limits), extra_violations})
}

# No measurement, no promotion.
unmeasured(canary) := {v |
	some name in ["error_rate", "p99_latency_ms", "requests", "window_s"]
	not is_number(object.get(canary, name, null))
	v := {"rule": name, "observed": "missing", "limit": "a number", "message": sprintf("%s is missing or not a number: the canary cannot be judged", [name])}
}

# No limit, no promotion.
unlimited(limits) := {v |
	some check in checks
	not is_number(object.get(as_object(limits), check.limit, null))
	v := {"rule": check.limit, "observed": "unset", "limit": "a number", "message": sprintf("limit %s is not set", [check.limit])}
}

# Each comparison checks its operands are numbers first: rego-cpp, unlike OPA, orders null above numbers.
broken(canary, limits) := {v |
	some check in checks
	observed := object.get(canary, check.measure, null)
	limit := object.get(as_object(limits), check.limit, null)
	is_number(observed)
	is_number(limit)
	beyond(observed, limit, check.breaks)
	v := {"rule": check.limit, "observed": observed, "limit": limit, "message": message(check.measure, observed, limit, canary)}
}

# The user's metrics, each held to the min and max it declares. A metric that could not be measured
# (null: no matching requests, no /metrics) breaks every bound it has: no measurement, no promotion.
metric_violations(canary, limits) := {v |
	declared := as_object(object.get(as_object(limits), "metrics", {}))
	some name
	bounds := declared[name]
	some side in ["min", "max"]
	limit := object.get(as_object(bounds), side, null)
	is_number(limit)
	observed := object.get(as_object(object.get(canary, "metrics", {})), name, null)
	not within(observed, limit, side)
	v := {"rule": sprintf("metrics.%s", [name]), "observed": measured(observed), "limit": limit, "message": metric_message(name, observed, limit, side)}
}

within(observed, limit, "min") if {
	is_number(observed)
	observed >= limit
}

within(observed, limit, "max") if {
	is_number(observed)
	observed <= limit
}

measured(x) := x if is_number(x)

measured(x) := "missing" if not is_number(x)

metric_message(name, observed, _, _) := sprintf("%s is missing (nothing to measure it on): the canary cannot be judged on it", [name]) if not is_number(observed)

metric_message(name, observed, limit, "min") := sprintf("%s %s is below minimum %s", [name, show(observed), show(limit)]) if is_number(observed)

metric_message(name, observed, limit, "max") := sprintf("%s %s exceeds maximum %s", [name, show(observed), show(limit)]) if is_number(observed)

message("requests", observed, limit, canary) := sprintf("inconclusive: not enough traffic (%s requests in %ss, need at least %s)", [show(observed), window(canary), show(limit)])

# A rate is said in percent, as the manifest writes it (`max_error_rate: 5%`).
message("error_rate", observed, limit, _) := concat("", ["error_rate ", percent(observed), " exceeds maximum ", percent(limit)])

# A fraction 0-1 as a percentage; anything else (no rate can be) as it is.
percent(x) := concat("", [show(x * 100), "%"]) if {
	x >= 0
	x <= 1
} else := show(x)

message("p99_latency_ms", observed, limit, _) := sprintf("p99_latency_ms %s exceeds maximum %s", [show(observed), show(limit)])

window(canary) := show(canary.window_s) if is_number(object.get(canary, "window_s", null))

window(canary) := "?" if not is_number(object.get(canary, "window_s", null))

beyond(observed, limit, "above") if observed > limit

beyond(observed, limit, "below") if observed < limit

# A number as both engines print it alike: whole numbers whole, others to four decimals without
# trailing zeros, the very large and very small as %v (`%.2f` of an integer breaks under OPA, and
# rego-cpp reads some decimals one bit off, so `%v` alone would print 90.90000000000001).
show(x) := s if {
	x == floor(x)
	abs(x) < 1000000000
	s := sprintf("%d", [x])
} else := s if {
	abs(x) >= 0.0001
	abs(x) < 1000000000
	s := trim_right(trim_right(sprintf("%.4f", [x]), "0"), ".")
} else := sprintf("%v", [x])

as_object(x) := x if is_object(x)

as_object(x) := {} if not is_object(x)

extra_violations contains v if {
	false
	v := {}
}
