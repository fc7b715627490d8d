"""The probes of representation_probe.py: least squares, L2-regularised multinomial logistic regression and a
small MLP, each fitted on training rows and scored on test rows (numpy and torch, CPU, deterministic)."""
from contextlib import contextmanager

import numpy as np
import torch

LAMBDAS = (1e-4, 1e-3, 1e-2, 1e-1)  # candidates of the logistic regression's L2 weight, chosen by grouped CV
IDENTITY_LAMBDA = 1e-3  # one training row per class leaves nothing to cross-validate on


@contextmanager
def threads(count):
    """torch on `count` threads inside the block (one thread is many times faster for the small fits here)."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def standardise(train_x, *others):
    """Features z-scored with the training rows' mean and std (a constant feature is only centred)."""
    mean, std = train_x.mean(axis=0), train_x.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    return [(x - mean) / std for x in (train_x, *others)]


def r_squared(train_x, train_y, test_x, test_y):
    """R^2 on the test rows of the least-squares fit (with a bias) on the training rows."""
    design = np.hstack([train_x, np.ones((len(train_x), 1))])
    coef, *_ = np.linalg.lstsq(design, train_y, rcond=None)
    predicted = np.hstack([test_x, np.ones((len(test_x), 1))]) @ coef
    return score_r_squared(predicted, test_y)


def score_r_squared(predicted, test_y):
    """R^2 of each column (or of the one target) of test_y."""
    residual = ((test_y - predicted) ** 2).sum(axis=0)
    total = ((test_y - test_y.mean(axis=0)) ** 2).sum(axis=0)
    return 1 - residual / total


def logistic_fit(x, labels, classes, lam):
    """Weights (features+1, classes) minimising mean cross-entropy + lam |W|^2 (bias not penalised); L-BFGS."""
    x = torch.from_numpy(np.hstack([x, np.ones((len(x), 1))])).double()
    y = torch.from_numpy(labels).long()
    w = torch.zeros(x.shape[1], classes, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([w], lr=1, max_iter=500, tolerance_grad=1e-9, tolerance_change=1e-12,
                                  history_size=20, line_search_fn="strong_wolfe")

    def closure():
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ w, y) + lam * (w[:-1] ** 2).sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    return w.detach().numpy()


def logistic_predict(w, x):
    return (np.hstack([x, np.ones((len(x), 1))]) @ w).argmax(axis=1)


def logistic_predictions(train_x, train_labels, test_x, classes, groups=None, lam=None):
    """Predicted classes of the test rows by the logistic-regression probe on standardised features. Without `lam`, the L2 weight
    is the candidate of LAMBDAS with the best 3-fold cross-validated accuracy on the training rows, folds
    made of whole groups (images), so that no image is in both parts of a fold."""
    train_x, test_x = standardise(train_x, test_x)
    if lam is None:
        fold_of_row = np.searchsorted(np.unique(groups), groups) % 3

        def cv_accuracy(candidate):
            hits = 0
            for k in range(3):
                inner, held = fold_of_row != k, fold_of_row == k
                fx, hx = standardise(train_x[inner], train_x[held])
                w = logistic_fit(fx, train_labels[inner], classes, candidate)
                hits += (logistic_predict(w, hx) == train_labels[held]).sum()
            return hits

        lam = max(LAMBDAS, key=cv_accuracy)  # ties go to the first, the weakest penalty
    w = logistic_fit(train_x, train_labels, classes, lam)
    return logistic_predict(w, test_x)


def mlp_r_squared(train_x, train_y, test_x, test_y, hidden=64, steps=1500, batch=4096, seed=0):
    """R^2 per target column of a 2-layer MLP (Linear, ReLU, Linear; all targets at once) trained with Adam
    on standardised features and targets, fixed seed."""
    train_x, test_x = standardise(train_x, test_x)
    y_mean, y_std = train_y.mean(axis=0), train_y.std(axis=0)
    y_std = np.where(y_std > 1e-12, y_std, 1.0)
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(train_x.shape[1], hidden), torch.nn.ReLU(),
                              torch.nn.Linear(hidden, train_y.shape[1]))
    tx = torch.from_numpy(train_x).float()
    ty = torch.from_numpy((train_y - y_mean) / y_std).float()
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    for _ in range(steps):
        rows = torch.randint(0, len(tx), (batch,), generator=generator)
        loss = ((net(tx[rows]) - ty[rows]) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
    with torch.no_grad():
        predicted = net(torch.from_numpy(test_x).float()).double().numpy() * y_std + y_mean
    return score_r_squared(predicted, test_y)
