#!/usr/bin/python3
"""A DEQ classifier in 20 lines (docs/python.md): two spirals, 150 Adam steps."""
import torch
import implicit

torch.manual_seed(0)
t, label = torch.rand(512) * 3 * torch.pi, torch.randint(0, 2, (512,))
x = torch.stack([torch.cos(t + label * torch.pi), torch.sin(t + label * torch.pi)], 1) * t[:, None] / 5

deq = implicit.DEQ(implicit.TanhCell(2, 64), jacobian_penalty=True)  # z* = tanh(W z* + U x + b)
head = torch.nn.Linear(64, 2)
opt = torch.optim.Adam([*deq.parameters(), *head.parameters()], lr=1e-2)
for step in range(150):
    z, penalty, info = deq(x)  # Anderson per sample; info: statuses, iterations, residuals
    loss = torch.nn.functional.cross_entropy(head(z), label) + penalty
    opt.zero_grad()
    loss.backward()  # Jacobian-free gradient by default; backward="implicit" for the exact IFT
    opt.step()

accuracy = (head(deq(x).z).argmax(1) == label).double().mean().item()
print(f"train accuracy {accuracy:.3f}; last step: {info.forward.brief_report()}")
