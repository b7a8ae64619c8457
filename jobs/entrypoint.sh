#!/bin/sh
# Entry point of the jobs image. SageMaker starts containers as root and mounts the job's output folders
# owned by root, so a container whose USER is unprivileged cannot write its results. Start as root only long
# enough to hand those folders to the unprivileged `node` user, then run the job as `node`.
set -eu
JOB="/app/dist/jobs/main.js"
if [ "$(id -u)" = "0" ]; then
  for dir in /opt/ml/processing/output /opt/ml/processing/resultdata /opt/ml/output; do
    # Created when missing: the monitor's result folder is not a declared output in the pipeline engine.
    mkdir -p "$dir" && chown -R node:node "$dir"
  done
  exec setpriv --reuid=node --regid=node --init-groups -- node "$JOB" "$@"
fi
exec node "$JOB" "$@"
