# SPDX-License-Identifier: BSD-3-Clause
"""PyTorch eager twins of the native detector nets of detect2d/nets.cc.

SimpleBaseline (ResNet-18/50 + 3 deconvolutions) and HRNet-W32 with exactly the module names of
the C++ nets, so the state dict of a rigpose model file loads with strict=True:

    m = torch.jit.load("model.rpm")            # a LibTorch archive
    info = parse_info(m.rigpose_model)         # the "key = value" description
    net = make_net(info)
    net.load_state_dict(state_dict_of(m), strict=True)

forward(x) maps a normalised RGB batch [B, 3, H, W] to heatmaps [B, J, H/4, W/4] (the heatmap
contract of detect2d/model.h). Dropout (MC sampling) is not modelled: eval mode only, where the
C++ dropout is the identity too.
"""
import torch
from torch import nn
import torch.nn.functional as F


def conv(cin, cout, k, stride=1, bias=False):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=bias)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = conv(cin, planes, 3, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv(planes, planes, 3)
        self.bn2 = nn.BatchNorm2d(planes)
        self.down_conv = self.down_bn = None
        if stride != 1 or cin != planes:
            self.down_conv = conv(cin, planes, 1, stride)
            self.down_bn = nn.BatchNorm2d(planes)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (self.down_bn(self.down_conv(x)) if self.down_conv is not None else x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = conv(cin, planes, 1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv(planes, planes, 3, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv(planes, planes * 4, 1)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.down_conv = self.down_bn = None
        if stride != 1 or cin != planes * 4:
            self.down_conv = conv(cin, planes * 4, 1, stride)
            self.down_bn = nn.BatchNorm2d(planes * 4)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return torch.relu(y + (self.down_bn(self.down_conv(x)) if self.down_conv is not None else x))


def make_layer(block, cin, planes, count, stride):
    layers = [block(cin, planes, stride)]
    out = planes * block.expansion
    layers += [block(out, planes, 1) for _ in range(1, count)]
    return nn.Sequential(*layers), out


def add_head(net, cin, num_joints, aleatoric):
    """final_layer (+ log_var_layer) on the net itself, as HeatmapHead in nets.cc."""
    net.final_layer = conv(cin, num_joints, 1, bias=True)
    net.log_var_layer = conv(cin, num_joints, 1, bias=True) if aleatoric else None


class SimpleBaseline(nn.Module):
    def __init__(self, arch="simplebaseline-r18", num_joints=17, aleatoric=False):
        super().__init__()
        r50 = arch == "simplebaseline-r50"
        self.conv1 = conv(3, 64, 7, 2)
        self.bn1 = nn.BatchNorm2d(64)
        counts = [3, 4, 6, 3] if r50 else [2, 2, 2, 2]
        cin = 64
        for i in range(4):
            layer, cin = make_layer(Bottleneck if r50 else BasicBlock, cin, 64 << i, counts[i],
                                    1 if i == 0 else 2)
            setattr(self, "layer%d" % (i + 1), layer)
        deconv = []
        for _ in range(3):
            deconv += [nn.ConvTranspose2d(cin, 256, 4, stride=2, padding=1, bias=False),
                       nn.BatchNorm2d(256), nn.ReLU()]
            cin = 256
        self.deconv_layers = nn.Sequential(*deconv)
        add_head(self, cin, num_joints, aleatoric)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = F.max_pool2d(y, 3, stride=2, padding=1)
        y = self.layer4(self.layer3(self.layer2(self.layer1(y))))
        return self.final_layer(self.deconv_layers(y))


class HrModule(nn.Module):
    def __init__(self, channels, num_outputs):
        super().__init__()
        n = len(channels)
        self.branches = nn.ModuleList(
            [make_layer(BasicBlock, channels[b], channels[b], 4, 1)[0] for b in range(n)])
        rows = []
        for i in range(num_outputs):
            row = []
            for j in range(n):
                if j > i:
                    f = [conv(channels[j], channels[i], 1), nn.BatchNorm2d(channels[i]),
                         nn.Upsample(scale_factor=float(2 ** (j - i)), mode="nearest")]
                elif j < i:
                    f = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        cout = channels[i] if last else channels[j]
                        f += [conv(channels[j], cout, 3, 2), nn.BatchNorm2d(cout)]
                        if not last:
                            f.append(nn.ReLU())
                else:
                    f = [nn.Identity()]
                row.append(nn.Sequential(*f))
            rows.append(nn.ModuleList(row))
        self.fuse_layers = nn.ModuleList(rows)

    def forward(self, x):
        x = [branch(t) for branch, t in zip(self.branches, x)]
        out = []
        for row in self.fuse_layers:
            y = None
            for j, f in enumerate(row):
                t = f(x[j])
                y = t if j == 0 else y + t
            out.append(torch.relu(y))
        return out


class HRNet(nn.Module):
    def __init__(self, num_joints=17, aleatoric=False, width=32):
        super().__init__()
        self.stem = nn.Sequential(conv(3, 64, 3, 2), nn.BatchNorm2d(64), nn.ReLU(),
                                  conv(64, 64, 3, 2), nn.BatchNorm2d(64), nn.ReLU())
        self.layer1, layer1_out = make_layer(Bottleneck, 64, 64, 4, 1)
        channels = [layer1_out]
        modules = [1, 4, 3]
        for stage in range(3):
            nxt = [width << b for b in range(stage + 2)]
            transition = []
            for b in range(len(nxt)):
                if b < len(channels):
                    if channels[b] != nxt[b]:
                        t = [conv(channels[b], nxt[b], 3), nn.BatchNorm2d(nxt[b]), nn.ReLU()]
                    else:
                        t = [nn.Identity()]
                else:
                    t = [conv(channels[-1], nxt[b], 3, 2), nn.BatchNorm2d(nxt[b]), nn.ReLU()]
                transition.append(nn.Sequential(*t))
            setattr(self, "transition%d" % (stage + 1), nn.ModuleList(transition))
            mods = []
            for m in range(modules[stage]):
                last = stage == 2 and m == modules[stage] - 1
                mods.append(HrModule(nxt, 1 if last else len(nxt)))
            setattr(self, "stage%d" % (stage + 2), nn.ModuleList(mods))
            channels = nxt
        add_head(self, width, num_joints, aleatoric)

    def forward(self, x):
        streams = [self.layer1(self.stem(x))]
        for stage in range(3):
            transition = getattr(self, "transition%d" % (stage + 1))
            nxt = [t(streams[b] if b < len(streams) else streams[-1])
                   for b, t in enumerate(transition)]
            for module in getattr(self, "stage%d" % (stage + 2)):
                nxt = module(nxt)
            streams = nxt
        return self.final_layer(streams[0])


def parse_info(text):
    """The "key = value" model description (detect2d/model.h ModelInfo::ToText) as a dict."""
    info = {}
    for line in text.splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            info[key.strip()] = value.strip()
    for key in ("mean", "std"):
        info[key] = [float(v) for v in info[key].split(",")]
    for key in ("num_joints", "input_width", "input_height", "heatmap_stride", "aleatoric"):
        info[key] = int(info[key])
    return info


def make_net(info):
    arch = info["arch"]
    aleatoric = bool(info.get("aleatoric", 0))
    if arch in ("simplebaseline-r18", "simplebaseline-r50"):
        return SimpleBaseline(arch, info["num_joints"], aleatoric)
    if arch == "hrnet-w32":
        return HRNet(info["num_joints"], aleatoric)
    raise ValueError("no PyTorch twin for arch '%s'" % arch)


def state_dict_of(archive):
    """Parameters and buffers of archive.net (a torch.jit.load-ed rigpose model file)."""
    sd = {k: v.detach().clone() for k, v in archive.net.named_parameters()}
    sd.update({k: v.detach().clone() for k, v in archive.net.named_buffers()})
    return sd


def load_model(path, map_location="cpu"):
    """(net in eval mode on CPU, info dict) of a native rigpose model file."""
    archive = torch.jit.load(path, map_location=map_location)
    info = parse_info(archive.rigpose_model)
    if info.get("kind") != "native":
        raise ValueError("%s: kind %s, only native nets have a PyTorch twin" % (path, info.get("kind")))
    net = make_net(info)
    net.load_state_dict(state_dict_of(archive), strict=True)
    return net.eval(), info
