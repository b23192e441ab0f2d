# `swiftdeploy policy test` runs every test_ rule here, as `opa test` would.
package swiftdeploy.canary_safety_test

import rego.v1

import data.swiftdeploy.canary_safety.judge
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
	messages(object.union(good, {"error_rate": 0.2})) == {"error_rate 20% exceeds maximum 5%"}
}

test_missing_measure_is_denied if rules(object.remove(good, ["p99_latency_ms"])) == {"p99_latency_ms"}

test_null_measure_is_denied if rules(object.union(good, {"error_rate": null})) == {"error_rate"}

test_missing_limit_is_denied if not verdict(good, object.remove(limits, ["min_requests"])).allow

# The decision as the engines ask for it: measurements and limits in one input.

judged_rules(x) := {v.rule | some v in judge(x).violations}

test_limits_travel_in_the_input if judge(object.union(good, {"limits": limits})).allow

test_an_input_without_measurements_is_denied if {
	not judge({"limits": limits}).allow
	"requests" in judged_rules({"limits": limits})
}

test_an_input_without_limits_is_denied if not judge(good).allow

test_an_input_that_is_not_an_object_is_denied if {
	judged_rules([1, 2]) == {"input"}
	judged_rules("text") == {"input"}
	judged_rules(3) == {"input"}
	judged_rules(null) == {"input"}
}

# The user's metrics (canary_safety.metrics), each held to the bounds it declares.

metric_limits := object.union(limits, {"metrics": {"checkout_errors": {"max": 0.02}, "orders_per_s": {"min": 1}, "free": {}}})

metric_rules(canary) := {v.rule | some v in verdict(canary, metric_limits).violations}

with_metrics(m) := object.union(good, {"metrics": m})

test_metrics_inside_their_bounds_are_allowed if verdict(with_metrics({"checkout_errors": 0.02, "orders_per_s": 1, "free": 123}), metric_limits).allow

test_a_metric_above_its_max_is_denied if metric_rules(with_metrics({"checkout_errors": 0.03, "orders_per_s": 5})) == {"metrics.checkout_errors"}

test_a_metric_below_its_min_is_denied if {
	metric_rules(with_metrics({"checkout_errors": 0, "orders_per_s": 0.5})) == {"metrics.orders_per_s"}
	{v.message | some v in verdict(with_metrics({"checkout_errors": 0, "orders_per_s": 0.5}), metric_limits).violations} == {"orders_per_s 0.5 is below minimum 1"}
}

test_an_unmeasured_metric_with_a_bound_is_denied if {
	metric_rules(with_metrics({"checkout_errors": null, "orders_per_s": 2})) == {"metrics.checkout_errors"}
	metric_rules(good) == {"metrics.checkout_errors", "metrics.orders_per_s"}
}

test_a_metric_without_bounds_never_denies if verdict(with_metrics({"checkout_errors": 0, "orders_per_s": 2, "free": null}), metric_limits).allow
