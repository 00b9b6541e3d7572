from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "services.inference"
    label = "inference"
    verbose_name = "Inference requests"
