"""`freshet trigger serve|pull|watch|setup`: each command builds the handler and one loop.

Heavy imports (google-cloud-pubsub, FastAPI, kfp) happen inside the commands, so
`freshet --help` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from freshet.config import Settings
    from freshet.trigger.handler import TriggerHandler

RootOption = Annotated[
    Path | None, typer.Option("--root", help="Local root for runs (default: ./.freshet).")
]
RecordOption = Annotated[
    Path | None,
    typer.Option(
        "--record",
        help="Dry run: record run requests in this SQLite ledger instead of running them.",
    ),
]


def _handler(root: Path | None, record: Path | None) -> tuple[Settings, TriggerHandler]:
    from freshet.config import load_settings
    from freshet.trigger.handler import TriggerHandler
    from freshet.trigger.ledger import Ledger

    settings = load_settings(root=root)
    submit = Ledger(record).submit if record is not None else None
    return settings, TriggerHandler(settings, submit=submit)


def serve(
    port: Annotated[int, typer.Option("--port", envvar="PORT", help="Port to listen on.")] = 8080,
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "0.0.0.0",
    root: RootOption = None,
    record: RecordOption = None,
) -> None:
    """Serve the push endpoint (Pub/Sub push envelopes and Eventarc CloudEvents) on POST /."""
    import uvicorn

    from freshet.errors import BadInput
    from freshet.trigger.push import PushService, create_app

    if not 0 < port < 65536:
        raise BadInput(f"The port must be between 1 and 65535, not {port}.")
    _, handler = _handler(root, record)
    app = create_app(PushService.from_handler(handler))
    # log_config=None: uvicorn's records, access lines included, go through freshet's one
    # logging setup (JSON records in a container) instead of uvicorn's own `INFO:` lines.
    uvicorn.run(app, host=host, port=port, log_config=None, log_level="info")


def pull(
    subscription: Annotated[
        str | None,
        typer.Option("--subscription", help="projects/P/subscriptions/S (trigger.subscription)."),
    ] = None,
    max_messages: Annotated[
        int | None, typer.Option("--max-messages", min=1, help="Messages in flight at once.")
    ] = None,
    root: RootOption = None,
    record: RecordOption = None,
) -> None:
    """Pull a subscription: ack after submission, nack on failure, drain on SIGTERM."""
    from freshet.errors import ConfigError
    from freshet.trigger.deadletter import DeadLetterPublisher
    from freshet.trigger.pull import (
        PullWorker,
        check_dead_letter_policy,
        check_subscription_name,
        run_until_signal,
    )

    settings, handler = _handler(root, record)
    name = subscription or settings.trigger.subscription
    if not name:
        raise ConfigError("No subscription: pass --subscription or set trigger.subscription.")
    check_subscription_name(name)
    worker = PullWorker(handler, name, max_messages=max_messages)
    if settings.trigger.dead_letter == "publish":
        worker.dead_letters = DeadLetterPublisher(settings.trigger.resolved_dead_letter_topic())
    else:
        check_dead_letter_policy(worker.subscriber, name)
    run_until_signal(worker)


def watch(
    directory: Annotated[Path, typer.Argument(help="Local data directory to watch.")],
    pipeline: Annotated[
        str | None, typer.Option("--pipeline", help="Pipeline to run (trigger.default_pipeline).")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="KEY=VALUE, repeatable.")
    ] = None,
    settle: Annotated[
        float, typer.Option("--settle", help="Seconds without writes before a change counts.")
    ] = 2.0,
    root: RootOption = None,
    record: RecordOption = None,
) -> None:
    """Watch a local data directory; each settled change starts one local run."""
    from freshet.logs import say
    from freshet.params import parse_assignments
    from freshet.trigger.watch import DirectoryWatcher

    parameters = parse_assignments(param or [])
    _, handler = _handler(root, record)
    watcher = DirectoryWatcher(directory, handler, pipeline, dict(parameters), settle)
    say(f"Watching {watcher.directory} (Ctrl-C to stop).")
    watcher.run(on_outcome=lambda o: typer.echo(f"{o.status}: {o.run_id or ''} {o.reason}"))


def setup(
    topic: Annotated[
        str | None, typer.Option("--topic", help="projects/P/topics/T (trigger.topic).")
    ] = None,
    subscription: Annotated[
        str | None,
        typer.Option("--subscription", help="projects/P/subscriptions/S (trigger.subscription)."),
    ] = None,
    dead_letter_topic: Annotated[
        str | None, typer.Option("--dead-letter-topic", help="[<topic>-dead]")
    ] = None,
    max_delivery_attempts: Annotated[
        int | None, typer.Option("--max-delivery-attempts", help="5 to 100 [5].")
    ] = None,
    ack_deadline: Annotated[
        int | None, typer.Option("--ack-deadline", help="Seconds, 10 to 600 [600].")
    ] = None,
    push_endpoint: Annotated[
        str, typer.Option("--push-endpoint", help="Make it a push subscription to this URL.")
    ] = "",
    push_service_account: Annotated[
        str, typer.Option("--push-service-account", help="Push with an OIDC token of this SA.")
    ] = "",
    push_audience: Annotated[
        str, typer.Option("--push-audience", help="OIDC audience [trigger.audience or URL].")
    ] = "",
) -> None:
    """Create topic, subscription and dead-letter topic (idempotent)."""
    from freshet.config import load_settings
    from freshet.errors import ConfigError
    from freshet.trigger.setup import SetupPlan, setup_trigger

    trigger = load_settings().trigger
    topic = topic or trigger.topic
    subscription = subscription or trigger.subscription
    if not topic or not subscription:
        raise ConfigError("Pass --topic and --subscription (or set trigger.topic/subscription).")
    plan = SetupPlan(
        topic=topic,
        subscription=subscription,
        dead_letter_topic=dead_letter_topic or trigger.dead_letter_topic or f"{topic}-dead",
        max_delivery_attempts=max_delivery_attempts or trigger.max_delivery_attempts,
        ack_deadline_seconds=ack_deadline or trigger.ack_deadline_seconds,
        push_endpoint=push_endpoint,
        push_service_account=push_service_account,
        push_audience=push_audience or trigger.audience,
    )
    for line in setup_trigger(plan):
        typer.echo(line)


def build_trigger_app(wrap: Callable[[Any], Any]) -> typer.Typer:
    """The `trigger` sub-app, each command wrapped by `wrap` (the CLI's error mapping)."""
    app = typer.Typer(
        help="Data-update triggers: Pub/Sub push and pull, local directory watch, setup.",
        no_args_is_help=True,
    )
    for name, command in (("serve", serve), ("pull", pull), ("watch", watch), ("setup", setup)):
        app.command(name)(wrap(command))
    return app
