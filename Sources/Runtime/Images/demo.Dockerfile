# The demo service's image: swiftdeploy-demo and the libraries it links that the base lacks, run as
# a user of its own, with a health check that needs no curl or shell. Built by `swiftdeploy image build`.
ARG BASE
FROM ${BASE}
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app
COPY lib/ /usr/local/lib/swiftdeploy-demo/
COPY swiftdeploy-demo /usr/local/bin/swiftdeploy-demo
ENV LD_LIBRARY_PATH=/usr/local/lib/swiftdeploy-demo HOST=0.0.0.0 PORT=3000
USER 10001:10001
EXPOSE 3000
HEALTHCHECK --interval=2s --timeout=3s --start-period=60s --retries=3 CMD ["/usr/local/bin/swiftdeploy-demo", "--health-check"]
ENTRYPOINT ["/usr/local/bin/swiftdeploy-demo"]
