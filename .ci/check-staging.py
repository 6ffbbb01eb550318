#!/usr/bin/env python3
"""Checks a file repository that `mvn deploy` filled: is every library artifact publishable?

Usage: .ci/check-staging.py REPOSITORY_DIR

The library modules are read from the reactor (the root pom.xml's modules, less those that set
maven.deploy.skip, and less the BOM, which is checked on its own). For each one the repository
must hold a .pom, a .jar, a -sources.jar and a -javadoc.jar, each with a .sha1 and a .md5 that
match it; the jar must hold module-info.class, META-INF/LICENSE and an Implementation-Version
equal to the version. The parent POM must carry the publication metadata and keep child url and
scm paths as they are. shepherd-bom must have no parent and manage dev.shepherd artifacts only:
every library module, and nothing that was not built here except the modules listed in PENDING.
Prints one line per artifact; exits 1 listing every problem found.
"""
import hashlib
import pathlib
import sys
import xml.etree.ElementTree as ET
import zipfile

GROUP = "dev.shepherd"
NS = {"m": "http://maven.apache.org/POM/4.0.0"}
# Library modules that other branches are adding, which the BOM may manage before they land. Remove a
# name once its module is in the reactor (then it is checked like every other).
PENDING = set()

ROOT = pathlib.Path(__file__).resolve().parent.parent
problems = []


def problem(text):
    problems.append(text)


def pom(path):
    return ET.parse(path).getroot()


def text(element, path):
    found = element.find(path, NS)
    return None if found is None or found.text is None else found.text.strip()


def reactor_libraries():
    """artifactId of every deployed jar module of the reactor (the BOM aside), by module directory."""
    root = pom(ROOT / "pom.xml")
    libraries = {}
    for module in root.findall("m:modules/m:module", NS):
        module_pom = pom(ROOT / module.text.strip() / "pom.xml")
        if text(module_pom, "m:properties/m:maven.deploy.skip") == "true":
            continue
        if (text(module_pom, "m:packaging") or "jar") != "jar":
            continue
        libraries[module.text.strip()] = text(module_pom, "m:artifactId")
    return libraries


def version_dir(repo, artifact, version):
    directory = repo / GROUP.replace(".", "/") / artifact / version
    if not directory.is_dir():
        problem(f"{artifact}: nothing deployed ({directory} is missing)")
        return None
    return directory


def newest(directory, artifact, suffix):
    """The file for `suffix` (".jar", "-sources.jar", ".pom", ...); snapshots carry a timestamp."""
    def matches(path):
        if suffix == ".jar" and path.name.endswith(("-sources.jar", "-javadoc.jar")):
            return False
        return path.name.endswith(suffix)
    candidates = sorted(p for p in directory.glob(f"{artifact}-*") if matches(p))
    return candidates[-1] if candidates else None


def checksums(path):
    data = path.read_bytes()
    for algorithm in ("sha1", "md5"):
        sidecar = path.with_name(path.name + "." + algorithm)
        if not sidecar.is_file():
            problem(f"{path.name}: no .{algorithm}")
            continue
        expected = hashlib.new(algorithm, data).hexdigest()
        if sidecar.read_text().split()[0].strip().lower() != expected:
            problem(f"{sidecar.name} does not match {path.name}")


def check_library(repo, artifact, version):
    known = len(problems)
    directory = version_dir(repo, artifact, version)
    if directory is None:
        return
    found = {}
    for suffix in (".pom", ".jar", "-sources.jar", "-javadoc.jar"):
        path = newest(directory, artifact, suffix)
        if path is None:
            problem(f"{artifact}: no {suffix} in {directory}")
            continue
        found[suffix] = path
        checksums(path)
    jar = found.get(".jar")
    if jar is not None:
        with zipfile.ZipFile(jar) as archive:
            names = set(archive.namelist())
            for entry in ("module-info.class", "META-INF/LICENSE"):
                if entry not in names:
                    problem(f"{jar.name}: no {entry}")
            manifest = archive.read("META-INF/MANIFEST.MF").decode("utf-8")
            if f"Implementation-Version: {version}" not in manifest:
                problem(f"{jar.name}: its manifest has no Implementation-Version: {version}")
    if ".pom" in found:
        library_pom = pom(found[".pom"])
        for field in ("m:name", "m:description"):
            if not text(library_pom, field):
                problem(f"{artifact}: its POM has no {field[2:]}")
        if text(library_pom, "m:parent/m:artifactId") != "shepherd-parent":
            problem(f"{artifact}: its POM does not inherit shepherd-parent (url, scm, licenses...)")
    if len(problems) > known:
        print(f"  {artifact}: FAILED (see below)")
        return
    stem = jar.name[:-len(".jar")]
    print(f"  {stem}: {' '.join(found)}, each with .sha1 .md5; module-info.class, META-INF/LICENSE")


def check_parent(repo, version):
    known = len(problems)
    directory = version_dir(repo, "shepherd-parent", version)
    path = directory and newest(directory, "shepherd-parent", ".pom")
    if not path:
        problem("shepherd-parent: no .pom")
        return
    checksums(path)
    parent = pom(path)
    for field in ("m:name", "m:description", "m:url", "m:licenses/m:license/m:name",
                  "m:developers/m:developer/m:name", "m:scm/m:url", "m:scm/m:connection",
                  "m:issueManagement/m:url"):
        if not text(parent, field):
            problem(f"shepherd-parent: no {field.replace('m:', '')}")
    # Without these, Maven appends each module's artifactId to url and scm: pages that do not exist.
    if parent.get("child.project.url.inherit.append.path") != "false":
        problem("shepherd-parent: modules would inherit url + '/' + artifactId")
    scm = parent.find("m:scm", NS)
    for attribute in ("connection", "developerConnection", "url"):
        if scm is None or scm.get(f"child.scm.{attribute}.inherit.append.path") != "false":
            problem(f"shepherd-parent: modules would inherit scm {attribute} + '/' + artifactId")
    print("  shepherd-parent: " + ("FAILED (see below)" if len(problems) > known
                                   else "pom with checksums, publication metadata, no appended paths"))


def check_bom(repo, version, libraries):
    known = len(problems)
    directory = version_dir(repo, "shepherd-bom", version)
    path = directory and newest(directory, "shepherd-bom", ".pom")
    if not path:
        problem("shepherd-bom: no .pom")
        return
    checksums(path)
    bom = pom(path)
    if bom.find("m:parent", NS) is not None:
        problem("shepherd-bom: has a parent, so importing it would import the parent's versions too")
    if bom.find("m:dependencies", NS) is not None:
        problem("shepherd-bom: declares dependencies")
    managed = set()
    for dependency in bom.findall("m:dependencyManagement/m:dependencies/m:dependency", NS):
        group, artifact = text(dependency, "m:groupId"), text(dependency, "m:artifactId")
        if group != GROUP:
            problem(f"shepherd-bom: manages {group}:{artifact}, not a Shepherd artifact")
        managed.add(artifact)
    for artifact in sorted(set(libraries) - managed):
        problem(f"shepherd-bom: does not manage {artifact}")
    for artifact in sorted(managed - set(libraries) - PENDING):
        problem(f"shepherd-bom: manages {artifact}, which this build does not publish")
    pending = sorted(managed & PENDING - set(libraries))
    if len(problems) > known:
        print("  shepherd-bom: FAILED (see below)")
        return
    print(f"  shepherd-bom: no parent, manages {len(managed)} dev.shepherd artifacts only"
          + (f" ({', '.join(pending)} pending in other branches)" if pending else ""))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    repo = pathlib.Path(sys.argv[1])
    version = text(pom(ROOT / "pom.xml"), "m:version")
    libraries = sorted(reactor_libraries().values())
    print(f"Staging repository {repo}, version {version}, {len(libraries)} library modules:")
    for artifact in libraries:
        check_library(repo, artifact, version)
    check_parent(repo, version)
    check_bom(repo, version, libraries)
    deployed = sorted(p.name for p in (repo / GROUP.replace(".", "/")).iterdir() if p.is_dir())
    for artifact in deployed:
        if artifact not in libraries and artifact not in ("shepherd-parent", "shepherd-bom"):
            problem(f"{artifact} was deployed but is not a library module (set maven.deploy.skip)")
    if problems:
        for p in problems:
            print("PUBLISH CHECK FAILED: " + p, file=sys.stderr)
        sys.exit(1)
    print("Publish check passed.")


if __name__ == "__main__":
    main()
