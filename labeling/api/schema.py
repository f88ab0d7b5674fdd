"""OpenAPI details drf-spectacular cannot infer (loaded by ``LabelingConfig.ready``)."""

from drf_spectacular.extensions import OpenApiSerializerExtension


class StrictInputSchema(OpenApiSerializerExtension):
    """Inputs built on ``StrictInput`` refuse unknown fields with a 400; the schema says so
    (``additionalProperties: false``), so clients and generated code know it too."""

    target_class = "labeling.api.serializers.StrictInput"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        if "__doc__" not in type(self.target).__dict__ or not type(self.target).__doc__:
            # Not the input's own docstring: StrictInput's, which is about its implementation.
            schema.pop("description", None)
        return schema
