"""The ten schedulers, by Diffusers' class names.

    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config,
                                                             use_karras_sigmas=True)

A scheduler here is its name and its config (a dict); the engine builds the real one, with the
config's values checked, when it is assigned to a pipeline. As in Diffusers, the config handed to
from_config keeps the `_class_name` of the scheduler it came from, whose defaults fill the keys the
config does not give (src/schedulers/scheduler.cpp, loaded_config).
"""
import json
import os


class SchedulerConfig(dict):
    """A plain dict that also reads as attributes (Diffusers' FrozenDict: config.num_train_timesteps)."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


class SchedulerMixin:
    def __init__(self, **config):
        self._source_config = dict(config)  # what the engine is given (the source's _class_name)
        self.config = SchedulerConfig(config, _class_name=type(self).__name__)

    @classmethod
    def from_config(cls, config, **kwargs):
        if hasattr(config, "config") and not isinstance(config, dict):
            config = config.config  # a scheduler given in place of its config, as Diffusers allows
        if not isinstance(config, dict):
            raise TypeError(f"{cls.__name__}.from_config: config must be a dict, got "
                            f"{type(config).__name__}")
        merged = dict(config)
        merged.update(kwargs)
        scheduler = cls(**merged)
        # keep the source's class name: its defaults fill missing keys, as in Diffusers
        scheduler._source_config = dict(merged)
        return scheduler

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, subfolder=None, **kwargs):
        path = os.fspath(pretrained_model_name_or_path)
        if subfolder:
            path = os.path.join(path, subfolder)
        file = os.path.join(path, "scheduler_config.json")
        if not os.path.isfile(file):
            raise OSError(f"{cls.__name__}.from_pretrained: no scheduler_config.json in '{path}'")
        with open(file, encoding="utf-8") as f:
            return cls.from_config(json.load(f), **kwargs)

    def config_json(self):
        """The config as the engine reads it."""
        return json.dumps(self._source_config)

    def __repr__(self):
        return f"{type(self).__name__}({dict(self.config)!r})"


class PNDMScheduler(SchedulerMixin):
    pass


class DDIMScheduler(SchedulerMixin):
    pass


class DDPMScheduler(SchedulerMixin):
    pass


class EulerDiscreteScheduler(SchedulerMixin):
    pass


class EulerAncestralDiscreteScheduler(SchedulerMixin):
    pass


class DPMSolverMultistepScheduler(SchedulerMixin):
    pass


class LMSDiscreteScheduler(SchedulerMixin):
    pass


class HeunDiscreteScheduler(SchedulerMixin):
    pass


class UniPCMultistepScheduler(SchedulerMixin):
    pass


class LCMScheduler(SchedulerMixin):
    pass


SCHEDULERS = {c.__name__: c for c in SchedulerMixin.__subclasses__()}
