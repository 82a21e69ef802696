"""Runs ferret-xai's ``Benchmark`` on texts; executed by bench_ferret.py in ferret's own venv.

ferret-xai 0.4.2 pins transformers<5, numpy<2, captum<0.8 and shap<0.45, so it cannot share
captum-ext's environment; this script imports only ferret and transformers. Input: a JSON file
``{"model": DIR, "texts": [...], "threads": N}``; output (stdout, last line): JSON with the
seconds spent explaining and evaluating and each explainer's top word per text.
"""

import json
import sys
import time


def main(path: str) -> None:
    job = json.loads(open(path, encoding="utf-8").read())
    import torch

    torch.set_num_threads(int(job["threads"]))
    from ferret import Benchmark
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(job["model"]).eval()
    tokenizer = AutoTokenizer.from_pretrained(job["model"])
    bench = Benchmark(model, tokenizer)
    explain_s = evaluate_s = 0.0
    top: list[dict[str, str]] = []
    for text in job["texts"]:
        with torch.no_grad():
            logits = model(**tokenizer(text, return_tensors="pt", truncation=True)).logits
        target = int(logits.argmax(-1))
        t0 = time.perf_counter()
        explanations = bench.explain(text, target=target, show_progress=False)
        t1 = time.perf_counter()
        bench.evaluate_explanations(explanations, target=target, show_progress=False)
        t2 = time.perf_counter()
        explain_s += t1 - t0
        evaluate_s += t2 - t1
        top.append(
            {
                e.explainer: e.tokens[max(range(len(e.scores)), key=lambda i: e.scores[i])]
                for e in explanations
            }
        )
    names = [type(e).__name__ for e in bench.explainers]
    evaluators = [type(e).__name__ for e in bench.evaluators]
    print(
        json.dumps(
            {
                "explain_seconds": explain_s,
                "evaluate_seconds": evaluate_s,
                "explainers": names,
                "evaluators": evaluators,
                "top_token": top,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
