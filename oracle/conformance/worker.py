"""oracle's own worker: serves a Python implementation over the streaming
protocol (docs/protocol.md). The harness starts it as

    python -m oracle.conformance.worker --module NAME [--batch-first] [--arrays]
    python -m oracle.conformance.worker --layer-api DIR [--layer-config FILE]

and the implementation is imported here, in this process, never in the
harness. Before importing it the worker takes stdin and stdout for the
protocol and points file descriptors 0 and 1 at /dev/null and stderr: what
the implementation prints goes to stderr, which the harness captures.
"""

import argparse
import json
import os
import sys

from oracle.conformance import protocol
from oracle.conformance.function_module import FunctionModule, NotOffered, describe_failure
from oracle.conformance.layer_folder import LayerFolder


def _claim_stdio():
    """(requests, replies): private binary streams on the original stdin and
    stdout; fd 0 becomes /dev/null and fd 1 a copy of stderr."""
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return requests, replies


def _load(args):
    if args.layer_api is not None:
        return LayerFolder(args.layer_api, args.layer_config)
    declaration = json.loads(args.conventions) if args.conventions else None
    return FunctionModule(args.module, args.batch_first or None, args.arrays or None, declaration)


def serve(implementation, message):
    """The reply to one request (never an exception)."""
    number = message.get("id")
    try:
        op, params = message["op"], message.get("params", {})
        inputs = protocol.decode_inputs(message["inputs"])
    except (KeyError, TypeError, AttributeError) as error:
        return {"id": number, "error": f"malformed request: {type(error).__name__}: {error}"}
    try:
        outputs, variants, modified = implementation.outputs(
            op, params, inputs, message.get("batched", False)
        )
    except NotOffered as reason:
        return {"id": number, "not_implemented": str(reason)}
    except NotImplementedError as error:
        return {"id": number, "not_implemented": f"raised NotImplementedError: {error}".rstrip(": ")}
    except BaseException as error:  # SystemExit, KeyboardInterrupt: this case's failure only
        text = describe_failure(error)
        return {"id": number, "error": text if isinstance(error, SystemExit) else f"raised {text}"}
    reply = {"id": number, "outputs": {name: protocol.encode(value) for name, value in outputs.items()}}
    if variants:
        reply["variants"] = {
            name: {key: protocol.encode(value) for key, value in values.items()}
            for name, values in variants.items()
        }
    if modified:
        reply["modified"] = modified
    return reply


def main(argv=None):
    requests, replies = _claim_stdio()
    parser = argparse.ArgumentParser(prog="python -m oracle.conformance.worker")
    parser.add_argument("--module")
    parser.add_argument("--batch-first", action="store_true")
    parser.add_argument("--arrays", action="store_true")
    parser.add_argument("--layer-api")
    parser.add_argument("--layer-config")
    parser.add_argument("--conventions", help="a JSON object of declared conventions")
    args = parser.parse_args(argv)

    def send(message):
        replies.write(protocol.dump_line(message))
        replies.flush()

    try:
        protocol.parse_line(requests.readline(), "the harness's hello")
    except protocol.ProtocolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    greeting = protocol.hello()
    try:
        implementation = _load(args)
    except BaseException as error:  # Unavailable, or anything the import let through
        send({**greeting, "error": str(error) or type(error).__name__})
        return 0
    send(
        {
            **greeting,
            "implementation": implementation.name,
            "ops": implementation.offered_ops(),
            "notes": implementation.notes,
            "batch": implementation.takes_batches,
            "conventions": implementation.conventions.declared(),
        }
    )
    for line in requests:
        try:
            message = protocol.parse_line(line, "request")
        except protocol.ProtocolError as error:
            send({"id": None, "error": str(error)})
            continue
        send(serve(implementation, message))
    return 0


if __name__ == "__main__":
    sys.exit(main())
