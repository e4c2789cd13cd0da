# One Kubernetes component as an image: its static binary and nothing else.
# images.py fills in @BINARY@ (ENTRYPOINT takes no build args): containerd refuses an image with
# neither entrypoint nor command for a pod sandbox (pause), and CoreDNS's and metrics-server's
# manifests give only args, as upstream's images expect.
FROM scratch
ARG BINARY
ARG USER=0
COPY ${BINARY} /usr/local/bin/${BINARY}
ENV PATH=/usr/local/bin
USER ${USER}
ENTRYPOINT ["/usr/local/bin/@BINARY@"]
