# OPA's own authorization for the compose sidecar (`--authorization=basic` loads package
# system.authz): only a request carrying the token in OPA_TOKEN (the deploy tool's
# policy.opa_token) may read or change anything; health checks need none. No token set, no access.
package system.authz

import rego.v1

default allow := false

allow if {
	token := opa.runtime().env.OPA_TOKEN
	token != ""
	input.identity == token
}

allow if input.path == ["health"]
