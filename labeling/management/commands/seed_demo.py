"""`python manage.py seed_demo`: demo accounts for every role and a demo project with work."""

from django.core.management.base import BaseCommand

from labeling.services import demo_seed


class Command(BaseCommand):
    help = "Create the demo accounts (labeler, labeler2, admin, engineer) and the demo project. Safe to run again."

    def handle(self, *args, **options):
        result = demo_seed()
        project = result.project
        self.stdout.write(
            f"Demo project {project.slug!r}: {result.prompts_created} new prompts, "
            f"{result.ranking_tasks_created} new ranking tasks "
            f"({project.tasks.filter(status='open').count()} open tasks in all)."
        )
        self.stdout.write("Logins (username / password, role):")
        for username, password, role in result.accounts:
            self.stdout.write(f"  {username:<10} / {password:<22} {role}")
