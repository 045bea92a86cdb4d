"""The LLaDA/MMaDA-style transformer in PyTorch, written independently of the Swift code, as the
reference for fixtures (tools/fixtures/) and benchmarks (tools/bench/). Parameter names follow MMaDA
checkpoints (model.transformer.*), weights in PyTorch [out, in] layout, no biases.
Block: x += attn_out(SDPA(rope(q_proj(n)), rope(k_proj(n)), v_proj(n))), n = RMSNorm(x);
       x += ff_out(silu(ff_proj(m)) * up_proj(m)), m = RMSNorm(x).  Final RMSNorm ln_f, untied head ff_out.
"""
import torch
import torch.nn.functional as F


class RMSNorm(torch.nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return x * torch.rsqrt(var + self.eps) * self.weight


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def rotary(seq_len, head_dim, theta):
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    freqs = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


class Block(torch.nn.Module):
    def __init__(self, d, heads, hidden, eps):
        super().__init__()
        self.heads = heads
        self.attn_norm = RMSNorm(d, eps)
        self.ff_norm = RMSNorm(d, eps)
        lin = lambda i, o: torch.nn.Linear(i, o, bias=False)
        self.q_proj, self.k_proj, self.v_proj, self.attn_out = lin(d, d), lin(d, d), lin(d, d), lin(d, d)
        self.ff_proj, self.up_proj, self.ff_out = lin(d, hidden), lin(d, hidden), lin(hidden, d)

    def forward(self, x, cos, sin, attn_mask):
        B, T, C = x.shape
        hd = C // self.heads
        n = self.attn_norm(x)
        shape = lambda t: t.view(B, T, self.heads, hd).transpose(1, 2)
        q, k, v = shape(self.q_proj(n)), shape(self.k_proj(n)), shape(self.v_proj(n))
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=False)
        x = x + self.attn_out(y.transpose(1, 2).reshape(B, T, C))
        m = self.ff_norm(x)
        return x + self.ff_out(F.silu(self.ff_proj(m)) * self.up_proj(m))


class Transformer(torch.nn.Module):
    def __init__(self, d_model, n_layers, n_heads, mlp_hidden_size, vocab_size, rope_theta=10000.0, rms_norm_eps=1e-5):
        super().__init__()
        self.d, self.heads, self.theta = d_model, n_heads, rope_theta
        self.wte = torch.nn.Embedding(vocab_size, d_model)
        self.blocks = torch.nn.ModuleList(Block(d_model, n_heads, mlp_hidden_size, rms_norm_eps) for _ in range(n_layers))
        self.ln_f = RMSNorm(d_model, rms_norm_eps)
        self.ff_out = torch.nn.Linear(d_model, vocab_size, bias=False)

    def hidden(self, tokens, key_mask=None):
        B, T = tokens.shape
        cos, sin = rotary(T, self.d // self.heads, self.theta)
        attn_mask = None if key_mask is None else key_mask.bool()[:, None, None, :]
        x = self.wte(tokens)
        for blk in self.blocks:
            x = blk(x, cos, sin, attn_mask)
        return self.ln_f(x)

    def checkpoint_state(self):
        """Parameters under MMaDA's checkpoint names."""
        out = {}
        for name, p in self.named_parameters():
            out["model.transformer." + name] = p
        return out
