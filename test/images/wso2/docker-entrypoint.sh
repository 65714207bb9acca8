#!/bin/sh
# The WSO2 stand-in's entrypoint, as wso2/docker-apim's and wso2/docker-is's docker-entrypoint.sh:
# the product home and the config volume in the same places, the config volume copied over the
# home with `cp -RL` (the operator's init containers fill it with the patched files), then the
# server started. The server here is a stand-in (server.mjs), not Carbon.
set -e

config_volume=${WORKING_DIRECTORY}/wso2-config-volume
artifact_volume=${WORKING_DIRECTORY}/wso2-artifact-volume

test ! -d "${WORKING_DIRECTORY}" && echo "WSO2 Docker non-root user home does not exist" && exit 1
test ! -d "${WSO2_SERVER_HOME}" && echo "WSO2 Docker product home does not exist" && exit 1

# copy any configuration changes mounted to config_volume
test -d "${config_volume}/" && cp -RL "${config_volume}"/* "${WSO2_SERVER_HOME}/"
# copy any artifact changes mounted to artifact_volume
test -d "${artifact_volume}/" && cp -RL "${artifact_volume}"/* "${WSO2_SERVER_HOME}/"

exec node "${WORKING_DIRECTORY}/stand-in/server.mjs" "$@"
