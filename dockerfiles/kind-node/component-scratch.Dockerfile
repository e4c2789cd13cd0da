# One Kubernetes component as an image: its static binary and nothing else.
FROM scratch
ARG BINARY
ARG USER=0
COPY ${BINARY} /usr/local/bin/${BINARY}
ENV PATH=/usr/local/bin
USER ${USER}
