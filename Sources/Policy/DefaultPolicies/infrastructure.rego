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
