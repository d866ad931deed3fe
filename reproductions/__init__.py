"""Paper modules: one subpackage per paper. A folder named reproductions/ elsewhere on sys.path adds papers
(pkgutil.extend_path), which is how a test plugs a toy paper into the subprocesses of a campaign."""

__path__ = __import__("pkgutil").extend_path(__path__, __name__)
