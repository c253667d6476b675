# A training script, as the documents ship beside their layers: importing the
# folder must not run it.
raise SystemExit("the conformance harness imported a training script")
