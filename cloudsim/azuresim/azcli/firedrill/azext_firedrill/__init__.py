"""firedrill's fix for Debian's az 2.45 against its simulated Azure.

Debian's azure-cli 2.45 reads `operations.config` of the authorization
client (az role assignment list/create/delete), which the Python SDK Debian
ships with it names `_config`, so those commands fail with AttributeError
against any cloud. This extension, loaded only with firedrill's
AZURE_CONFIG_DIR, aliases the attribute. Its one command, `az role
firedrill-fix`, is what makes az load it for every `az role …` command
(az loads an extension only for the command groups it registers).
"""
from azure.cli.core import AzCommandsLoader


def _alias_config():
    import importlib
    import pkgutil
    import azure.mgmt.authorization as auth
    for mod in pkgutil.iter_modules(auth.__path__):
        if not mod.name.startswith('v'):
            continue
        try:
            ops = importlib.import_module(auth.__name__ + '.' + mod.name + '.operations')
        except ImportError:
            continue
        for name in dir(ops):
            cls = getattr(ops, name)
            if isinstance(cls, type) and name.endswith('Operations') and not hasattr(cls, 'config'):
                cls.config = property(lambda self: self._config)


def fix_info():
    return {'fixed': 'operations.config of azure.mgmt.authorization'}


class FiredrillFixLoader(AzCommandsLoader):
    def load_command_table(self, args):
        _alias_config()
        with self.command_group('role', operations_tmpl='azext_firedrill#{}') as g:
            g.command('firedrill-fix', 'fix_info')
        return self.command_table

    def load_arguments(self, command):
        pass


COMMAND_LOADER_CLS = FiredrillFixLoader
