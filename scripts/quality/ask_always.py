"""A configuration that opens the verdict, for dumps whose rows the fitting scripts re-decide
(fit_second_opinion.py, threshold.py): every question answered, and the second model asked
for every one with weight 100 and pivot 0, so that a row's `confidence` less 100 times its
`second_similarity` is the semantic stage's own confidence."""
import os

SETTINGS = ("[search]\nmin_confidence = -10.0\nmin_known_share = 0.0\nmin_coverage = 0.0\n"
            "greetings = false\nsecond_opinion_weight = 100.0\nsecond_opinion_pivot = 0.0\n"
            "second_opinion_range = [-1.0, 1.0]\n")


def write(folder):
    """Writes the configuration into `folder`; its path, for CITEBOT_CONFIG."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "ask-always.toml")
    with open(path, "w") as f:
        f.write(SETTINGS)
    return path


def semantic_confidence(row):
    """A dumped row's confidence without the second opinion's part."""
    return row["confidence"] - 100 * row["second_similarity"]
