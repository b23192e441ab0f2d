# `swiftdeploy policy test` runs every test_ rule here, as `opa test` would.
package swiftdeploy.infrastructure_test

import rego.v1

import data.swiftdeploy.infrastructure.judge
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
	v.message == "cpu_load 3.5 exceeds maximum 2"
}

# The decision as the engines ask for it: measurements and limits in one input.

judged_rules(x) := {v.rule | some v in judge(x).violations}

test_limits_travel_in_the_input if judge(object.union(healthy, {"limits": limits})).allow

test_an_input_without_measurements_is_denied if {
	not judge({"limits": limits}).allow
	"cpu_load" in judged_rules({"limits": limits})
}

test_an_input_without_limits_is_denied if not judge(healthy).allow

test_an_input_that_is_not_an_object_is_denied if {
	judged_rules([1, 2]) == {"input"}
	judged_rules("text") == {"input"}
	judged_rules(3) == {"input"}
	judged_rules(null) == {"input"}
}

# The load is judged per core when the input says how many cores there are.
test_load_is_judged_per_core if {
	verdict(object.union(healthy, {"cpu_load": 3.5, "cores": 2}), limits).allow
	some v in verdict(object.union(healthy, {"cpu_load": 4.16, "cores": 2}), limits).violations
	v.message == "cpu_load 4.16 on 2 cores (2.08 per core) exceeds maximum 2 per core"
}

