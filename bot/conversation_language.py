"""A Rasa NLU component (runs in Rasa's environment): the conversation's language, which the
hub sends with every message as metadata, as the `language` entity, which fills the
`language` slot (domain.yml) before any response is chosen.

Before, a custom slot mapping called an action (`action_set_language`) on the hub for every
customer message: a second HTTP round trip per turn, with the tracker, for one metadata key
(docs/performance.md). Reading it here costs nothing.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.languages import language_entity


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class ConversationLanguage(GraphComponent, EntityExtractorMixin):
    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ConversationLanguage:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entity = language_entity(message.get("metadata"))
            if entity is not None:
                message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
