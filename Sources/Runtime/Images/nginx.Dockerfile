# A stand-in for an nginx image that could not be pulled: Debian's nginx on the local Debian base,
# with the official image's `nginx` user (101) and stop signal. Built by `swiftdeploy image build`.
ARG BASE
FROM ${BASE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 101 nginx \
 && useradd --uid 101 --gid 101 --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nginx
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
