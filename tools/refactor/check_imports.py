# For each target: modules imported by its files that the target does not declare (directly).
import re, os, glob, sys
pkg = open('Package.swift').read()
targets = {}
for m in re.finditer(r'\.(?:target|testTarget|executableTarget)\(name: "(\w+)",\s*dependencies: \[(.*?)\](.*?)\)', pkg, re.S):
    name, deps, rest = m.group(1), m.group(2), m.group(3)
    d = set(re.findall(r'"(\w+)"', deps))
    d |= set(re.findall(r'\.product\(name: "(\w+)"', deps))
    path = re.search(r'path: "([^"]+)"', rest)
    folder = path.group(1) if path else (('Tests/' if os.path.isdir('Tests/'+name) else 'Sources/') + name)
    targets[name] = (d, folder)
system = {'Darwin', 'FoundationXML', 'Foundation', 'Testing', 'XCTest', 'Glibc', 'Dispatch', 'FoundationEssentials', 'Synchronization', 'ArgumentParser', 'os'}
bad = 0
for name, (deps, folder) in sorted(targets.items()):
    mods = set()
    for f in glob.glob(folder + '/**/*.swift', recursive=True):
        for line in open(f):
            m = re.match(r'\s*(?:@testable\s+)?(?:@_implementationOnly\s+)?import\s+(\w+)', line)
            if m: mods.add(m.group(1))
    missing = sorted(mods - deps - system - {name})
    if 'ArgumentParser' in mods and 'ArgumentParser' not in deps: missing.append('ArgumentParser')
    if missing:
        bad += 1
        print(f'{name}: imports undeclared {missing}')
sys.exit(1 if bad else 0)
