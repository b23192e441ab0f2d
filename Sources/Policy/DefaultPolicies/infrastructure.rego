# Is this host healthy enough to deploy onto?
#
# input:  {"cpu_load": 1-minute load average,
#          "disk_free_gb": free space (GB) of the filesystem holding the state directory,
#          "mem_used_pct": memory in use, 0-100,
#          "limits": {"max_cpu_load", "min_disk_free_gb", "max_mem_used_pct"}, from the manifest's
#                    policy.infrastructure; this file holds no numbers of its own}
#
# Fails closed on every engine: an input that is not an object, a missing, null or non-number
# measurement or limit is a violation (read with object.get: under OPA a missing key would make
# `not is_number(x[k])` undefined instead of true). Messages print numbers with `show`, which OPA
# and rego-cpp format alike.
#
# To make the gate stricter, add rules to `extra_violations` (here or in another file of this
# package), each an object {"rule", "observed", "limit", "message"}.
package swiftdeploy.infrastructure

import rego.v1

decision := judge(input)

# The decision for any input: measurements and their limits (under "limits") in one object.
judge(x) := verdict(object.remove(x, ["limits"]), object.get(x, "limits", {})) if is_object(x)

judge(x) := {"allow": false, "violations": [{
	"rule": "input", "observed": "not an object", "limit": "an object",
	"message": "the input is not an object of measurements: the host cannot be judged",
}]} if not is_object(x)

# Each measurement, the limit it is held to, and which side of the limit breaks it.
checks := [
	{"measure": "cpu_load", "limit": "max_cpu_load", "breaks": "above", "words": "exceeds maximum", "per_core": true},
	{"measure": "disk_free_gb", "limit": "min_disk_free_gb", "breaks": "below", "words": "is below minimum"},
	{"measure": "mem_used_pct", "limit": "max_mem_used_pct", "breaks": "above", "words": "exceeds maximum"},
]

# The decision for any measurements and limits; the policy tests call it directly.
verdict(host, limits) := {"allow": count(found) == 0, "violations": found} if {
	found := union({unmeasured(host), unlimited(limits), broken(host, limits), extra_violations})
}

# No measurement, no deploy.
unmeasured(host) := {v |
	some check in checks
	not is_number(object.get(host, check.measure, null))
	v := {"rule": check.measure, "observed": "missing", "limit": "a number", "message": sprintf("%s is missing or not a number: the host cannot be judged", [check.measure])}
}

# No limit, no deploy.
unlimited(limits) := {v |
	some check in checks
	not is_number(object.get(as_object(limits), check.limit, null))
	v := {"rule": check.limit, "observed": "unset", "limit": "a number", "message": sprintf("limit %s is not set", [check.limit])}
}

# Each comparison checks its operands are numbers first: rego-cpp, unlike OPA, orders null above numbers.
broken(host, limits) := {v |
	some check in checks
	observed := object.get(host, check.measure, null)
	limit := object.get(as_object(limits), check.limit, null)
	is_number(observed)
	is_number(limit)
	judged := per_core(host, check, observed)
	beyond(judged, limit, check.breaks)
	v := {"rule": check.limit, "observed": judged, "limit": limit, "message": breach(host, check, observed, judged, limit)}
}

# The load is judged per core (`max_cpu_load` is per core: a 2-core host at load 2.08 runs 1.04
# per core) when the input says how many cores there are (`cores`, from HostProbe).
per_core(host, check, observed) := observed / cores if {
	object.get(check, "per_core", false)
	cores := object.get(host, "cores", null)
	is_number(cores)
	cores > 0
} else := observed

breach(host, check, observed, judged, limit) := sprintf("%s %s on %s cores (%s per core) %s %s per core", [check.measure, show(observed), show(object.get(host, "cores", 1)), show(judged), check.words, show(limit)]) if {
	judged != observed
} else := sprintf("%s %s %s %s", [check.measure, show(observed), check.words, show(limit)])

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
