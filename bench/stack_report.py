"""The stack bench's results as a Markdown table and a chart of the same figures."""

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # noqa: E402


def write_table(results, path):
    text = "\n".join(table_lines(results)) + "\n"
    path.write_text(text)
    return text


def table_lines(results):
    settings = results["settings"]
    lines = [
        f"# Stack benchmark, {results['date']}",
        "",
        f"`{results['command']}` on {results['backend']}: gunicorn from "
        f"gunicorn.conf.py with {settings['gunicorn_workers']} workers, load from "
        f"{settings['load_generator']} over {settings['connections']} connections, "
        f"{settings['rounds']} rounds of {settings['seconds_per_measurement']} s "
        f"per figure, {settings['cpus']} CPUs, load average "
        f"{settings['load_average_before'][0]} before and "
        f"{settings['load_average_after'][0]} after; {results['bench_seconds']} s.",
        "",
        "Ratio: requests per second as a share of `/health/live` on the same "
        "server in the same round (1.0 is the stack's ceiling). For the bare "
        "view it is the other way round: `/health/live`'s share of the bare "
        f"view's, target >= {results['targets']['bare']}. Queries: counted in "
        "process through Django's test client and the whole middleware "
        "(CaptureQueriesContext), on the request's second call.",
    ]
    for size, measured in results["sizes"].items():
        lines += ["", f"## {int(size):,} work logs ({measured['database']})", ""]
        lines += [
            "| figure | req/s | ratio | p50 ms | p99 ms | queries |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, figure in measured["figures"].items():
            ratio = f"{figure['ratio']:.3f}"
            if name == "bare":
                ratio = f"live / bare {ratio}"
            lines.append(
                f"| {figure['label']} | {figure['requests_per_second']:.0f} | "
                f"{ratio} | {figure['p50_ms']:.1f} | {figure['p99_ms']:.1f} | "
                f"{figure['queries'] if name != 'bare' else '-'} |"
            )
    lines += growth_lines(results["growth"])
    lines += disruption_lines(results)
    return lines


def growth_lines(growth):
    if not growth:
        return []
    small, large = growth["small"], growth["large"]
    lines = [
        "",
        f"## Growth: {int(small):,} to {int(large):,} work logs",
        "",
        "Cost: a request's worth in `/health/live` requests (1 / ratio); growth is "
        "the cost at the larger size over the smaller.",
        "",
        f"| figure | cost at {int(small):,} | cost at {int(large):,} | growth | "
        "p50 growth | target |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for figure in growth["figures"].values():
        target = ""
        if figure["target"]:
            verdict = "met" if figure["passed"] else "MISSED"
            target = f"<= {figure['target']}: {verdict}"
        lines.append(
            f"| {figure['label']} | {figure['cost_small']:.1f} | "
            f"{figure['cost_large']:.1f} | {figure['growth']:.2f} | "
            f"{figure['p50_growth']:.2f} | {target} |"
        )
    return lines


def disruption_lines(results):
    events = results["disruptions"]
    if not events:
        return []
    lines = [
        "",
        f"## A killed worker and a reload, under load ({results['disruption_load']})",
        "",
        "| event | requests | failed | workers replaced after | first 200 from a "
        "new worker after | that request took |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    names = {
        "sigkill_one_worker": "SIGKILL to one worker",
        "sighup_master": "HUP to the master (graceful reload)",
    }
    for name, event in events.items():
        lines.append(
            f"| {names[name]} | {event['requests']} | {event['failed']} | "
            f"{_seconds(event['replacement_seen_after_s'])} | "
            f"{_seconds(event['first_200_from_new_worker_after_s'])} | "
            f"{_milliseconds(event['first_request_on_new_worker_ms'])} |"
        )
    return lines


def _seconds(value):
    return "never" if value is None else f"{value:.3f} s"


def _milliseconds(value):
    return "-" if value is None else f"{value:.0f} ms"


def write_chart(results, path):
    """Ratios and latencies per figure, one bar per database size."""
    sizes = list(results["sizes"])
    names = list(results["sizes"][sizes[0]]["figures"])
    labels = [results["sizes"][sizes[0]]["figures"][name]["label"] for name in names]
    figure, (ratios, latencies) = plt.subplots(
        1, 2, figsize=(13, 0.55 * len(names) + 2), sharey=True
    )
    height = 0.8 / len(sizes)
    for index, size in enumerate(sizes):
        measured = results["sizes"][size]["figures"]
        offsets = [position + index * height for position in range(len(names))]
        label = f"{int(size):,} work logs"
        ratios.barh(offsets, [measured[n]["ratio"] for n in names], height, label=label)
        latencies.barh(
            offsets, [measured[n]["p50_ms"] for n in names], height, label=label
        )
    ticks = [position + height * (len(sizes) - 1) / 2 for position in range(len(names))]
    ratios.set_yticks(ticks, labels)
    ratios.invert_yaxis()
    ratios.set_xscale("log")
    ratios.axvline(1.0, color="grey", linewidth=0.8)
    ratios.set_xlabel("share of /health/live's requests per second (bare: the reverse)")
    latencies.set_xscale("log")
    latencies.set_xlabel("p50 latency, ms")
    latencies.legend(loc="lower right")
    figure.suptitle(
        f"Track Management System on {results['backend']}, {results['date']}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
